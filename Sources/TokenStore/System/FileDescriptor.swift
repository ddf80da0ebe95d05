#if canImport(Glibc)
import Glibc
#endif

/// An open file of the store, with the few calls the engine needs.
///
/// Every call goes through `SystemCalls.current`, retries `EINTR`, and throws `SystemError`
/// naming the file (by its name inside the store directory, never a token or an id).
struct FileDescriptor {
    let raw: Int32
    /// The name inside the store directory, for error messages.
    let name: String

    /// Opens `path` with mode 0600 (tokens are personal data). `O_NOFOLLOW` refuses a
    /// symlink swapped into the directory.
    static func open(_ path: String, name: String, create: Bool) throws(SystemError) -> FileDescriptor {
        var flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW
        if create { flags |= O_CREAT }
        let fd = retrying { SystemCalls.current.open(path, flags, 0o600) }
        guard fd >= 0 else { throw SystemError(errno: errno, operation: "open", file: name) }
        return FileDescriptor(raw: fd, name: name)
    }

    func close() {
        _ = SystemCalls.current.close(raw)
    }

    /// The file's size and owner.
    func status() throws(SystemError) -> stat {
        var st = stat()
        guard fstat(raw, &st) == 0 else { throw SystemError(errno: errno, operation: "fstat", file: name) }
        return st
    }

    func size() throws(SystemError) -> Int { Int(try status().st_size) }

    /// Writes all of `buffer` at `offset`, looping over short writes.
    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int) throws(SystemError) {
        var done = 0
        while done < buffer.count {
            let n = SystemCalls.current.pwrite(raw, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(errno: errno, operation: "pwrite", file: name)
            }
            if n == 0 { throw SystemError(errno: EIO, operation: "pwrite", file: name) }
            done += n
        }
    }

    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (short at EOF).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(SystemError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = SystemCalls.current.pread(raw, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(errno: errno, operation: "pread", file: name)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    func truncate(to size: Int) throws(SystemError) {
        guard retrying({ SystemCalls.current.ftruncate(raw, off_t(size)) }) == 0 else {
            throw SystemError(errno: errno, operation: "ftruncate", file: name)
        }
    }

    /// Grows the file to `size` and reserves its blocks, so that a later store through a
    /// shared mapping cannot fail with `SIGBUS` on a full disk.
    func allocate(to size: Int) throws(SystemError) {
        let current = try self.size()
        guard size > current else { return }
        let rc = SystemCalls.current.fallocate(raw, off_t(current), off_t(size - current))
        if rc != 0 {
            // posix_fallocate returns the error instead of setting errno.
            if rc == EOPNOTSUPP || rc == EINVAL {
                try truncate(to: size)
                return
            }
            throw SystemError(errno: rc, operation: "fallocate", file: name)
        }
    }

    func sync() throws(SystemError) {
        guard retrying({ SystemCalls.current.fsync(raw) }) == 0 else {
            throw SystemError(errno: errno, operation: "fsync", file: name)
        }
    }

    func syncData() throws(SystemError) {
        guard retrying({ SystemCalls.current.fdatasync(raw) }) == 0 else {
            throw SystemError(errno: errno, operation: "fdatasync", file: name)
        }
    }
}

/// Retries a call that failed with `EINTR`.
@inline(__always)
func retrying(_ call: () -> Int32) -> Int32 {
    while true {
        let rc = call()
        if rc == -1 && errno == EINTR { continue }
        return rc
    }
}
