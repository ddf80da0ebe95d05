#if canImport(Glibc)
import Glibc
#endif

/// The store's directory: creating it, listing it, syncing it, and the advisory lock that
/// keeps a second process out.
enum StoreDirectory {
    /// Creates the directory with mode 0700 if absent.
    static func create(_ path: String) throws(SystemError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw SystemError(errno: errno, operation: "mkdir", file: "store directory")
        }
        var st = stat()
        guard lstat(path, &st) == 0 else { throw SystemError(errno: errno, operation: "stat", file: "store directory") }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw SystemError(errno: ENOTDIR, operation: "open", file: "store directory")
        }
    }

    /// The names of the entries in `path`.
    static func list(_ path: String) throws(SystemError) -> [String] {
        guard let dir = opendir(path) else { throw SystemError(errno: errno, operation: "opendir", file: "store directory") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Takes an exclusive advisory lock on `LOCK`, held until the descriptor closes.
    /// - Throws: `EWOULDBLOCK` (mapped to `locked`) when another process holds it.
    static func lock(_ path: String) throws(SystemError) -> FileDescriptor {
        let file = try FileDescriptor.open(path + "/LOCK", name: "LOCK", create: true)
        if flock(file.raw, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            file.close()
            throw SystemError(errno: e == EWOULDBLOCK ? EWOULDBLOCK : e, operation: "flock", file: "LOCK")
        }
        return file
    }

    /// Refuses files the process does not own: a symlink or another user's file swapped
    /// into the directory.
    static func checkOwnership(_ file: FileDescriptor) throws(SystemError) {
        let st = try file.status()
        guard (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == geteuid() else {
            throw SystemError(errno: EPERM, operation: "open", file: file.name)
        }
    }
}

/// Makes a rename or a new file in `directory` durable.
func syncDirectory(_ directory: String) throws(SystemError) {
    let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw SystemError(errno: errno, operation: "open", file: "store directory") }
    defer { _ = Glibc.close(fd) }
    guard retrying({ SystemCalls.current.fsync(fd) }) == 0 else {
        throw SystemError(errno: errno, operation: "fsync", file: "store directory")
    }
}
