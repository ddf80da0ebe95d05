// Shared by every harness: scratch directories, failure reporting and the settings that
// fuzz.sh passes through the environment.

#if canImport(Glibc)
import Glibc
#endif

/// Reports a broken invariant and aborts, so libFuzzer saves the input as a crasher.
///
/// The message names the check, never the input's bytes.
func fuzzFailure(_ message: String) -> Never {
    let text = "FUZZ INVARIANT: " + message + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    abort()
}

/// Checks an invariant of the code under test.
@inline(__always)
func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fuzzFailure(message()) }
}

/// Settings read once from the environment.
enum FuzzEnvironment {
    /// `TOKENSTORE_FUZZ_FRESH=1`: start every input from a new, empty store, so that a
    /// crasher reproduces from its own bytes alone (regression replay and minimisation).
    static let freshStorePerInput: Bool = {
        guard let value = getenv("TOKENSTORE_FUZZ_FRESH") else { return false }
        return String(cString: value) == "1"
    }()

    /// `TOKENSTORE_FUZZ_VERBOSE=1`: print what each input does (debugging a crasher).
    static let verbose: Bool = {
        guard let value = getenv("TOKENSTORE_FUZZ_VERBOSE") else { return false }
        return String(cString: value) == "1"
    }()

    /// The directory all scratch stores of this process live under: `TOKENSTORE_FUZZ_TMP`,
    /// else `/dev/shm` (memory, so `msync` is cheap), else `/tmp`. Made once per process.
    static let scratchRoot: String = {
        var parent = "/tmp"
        if let value = getenv("TOKENSTORE_FUZZ_TMP") {
            parent = String(cString: value)
        } else if access("/dev/shm", W_OK) == 0 {
            parent = "/dev/shm"
        }
        _ = mkdir(parent, 0o700)
        var template = Array((parent + "/tokenstore-fuzz-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            fuzzFailure("cannot create a scratch directory under \(parent)")
        }
        let root = String(cString: made)
        atexit { removeTree(FuzzEnvironment.scratchRoot) }
        return root
    }()

    /// Prints a line when verbose.
    static func trace(_ text: @autoclosure () -> String) {
        guard verbose else { return }
        let line = text() + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}

/// Removes a directory and everything below it; errors are ignored.
func removeTree(_ path: String) {
    var st = stat()
    guard lstat(path, &st) == 0 else { return }
    if (st.st_mode & S_IFMT) != S_IFDIR {
        _ = unlink(path)
        return
    }
    if let dir = opendir(path) {
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(dir)
        for name in names { removeTree(path + "/" + name) }
    }
    _ = rmdir(path)
}

/// Writes `bytes` to `path`, replacing it; aborts on failure (the scratch disk is ours).
func writeFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { fuzzFailure("cannot write a scratch file (errno \(errno))") }
    defer { close(fd) }
    var done = 0
    bytes.withUnsafeBytes { raw in
        while done < raw.count {
            let n = write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { fuzzFailure("scratch write failed (errno \(errno))") }
            done += n
        }
    }
}

/// Reads a whole file, or `nil` when it cannot be opened.
func readFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

/// The names in a directory, sorted.
func listDirectory(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}
