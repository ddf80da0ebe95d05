import Foundation
@testable import TokenStore

#if canImport(Glibc)
import Glibc
#endif

/// The store's system calls, seen and bent by a test through `SystemCalls.current`.
///
/// `SystemCalls.current` is one global table read by every store in the process, and tests
/// run in parallel. Swapping the table while another thread reads it is a data race, so the
/// interposer is installed once and never swapped back: outside a scope it passes every call
/// straight to the table it replaced. A scope (`IOScope`) only sees and bends calls on files
/// under its own directory: descriptors it saw opened there, and mappings of them. Scopes
/// run one at a time, process-wide (`SyscallInterposer.run`).
final class SyscallInterposer: @unchecked Sendable {
    static let shared = SyscallInterposer()

    private let lock = NSLock()
    /// Held for the whole life of a scope, so that scopes of different suites never overlap.
    private let scopeLock = NSLock()
    private var original = SystemCalls()
    private var installed = false
    private var scope: IOScope?

    /// Runs `body` with `scope` active, and deactivates it afterwards, even when it throws.
    static func run<R>(_ scope: IOScope, _ body: () throws -> R) rethrows -> R {
        let s = shared
        s.install()
        s.scopeLock.lock()
        s.lock.lock()
        s.scope = scope
        scope.original = s.original
        s.lock.unlock()
        defer {
            s.lock.lock()
            s.scope = nil
            s.lock.unlock()
            s.scopeLock.unlock()
        }
        return try body()
    }

    private func install() {
        lock.lock()
        defer { lock.unlock() }
        guard !installed else { return }
        installed = true
        original = SystemCalls.current
        let base = original
        var t = base
        t.open = { path, flags, mode in
            let name = String(cString: path)
            if let (scope, file) = self.scope(forPath: name) {
                if let e = scope.fault(.open, file) { return self.fail(e) }
                let fd = base.open(path, flags, mode)
                if fd >= 0 { self.locked { scope.opened(fd, file, created: flags & O_CREAT != 0) } }
                return fd
            }
            return base.open(path, flags, mode)
        }
        t.close = { fd in
            self.locked { self.scope?.closing(fd) }
            return base.close(fd)
        }
        t.pread = { fd, buffer, count, offset in
            if let (scope, file) = self.scope(forFD: fd), let e = scope.fault(.pread, file) { return Int(self.fail(e)) }
            return base.pread(fd, buffer, count, offset)
        }
        t.pwrite = { fd, buffer, count, offset in
            if let (scope, file) = self.scope(forFD: fd) {
                if let e = scope.fault(.pwrite, file) {
                    // A short write first, when asked: part of the buffer reaches the file.
                    if scope.shortWrites && count > 512 {
                        let n = base.pwrite(fd, buffer, count / 2, offset)
                        if n > 0 { return n }
                    }
                    return Int(self.fail(e))
                }
                let n = base.pwrite(fd, buffer, count, offset)
                if n > 0 { self.locked { scope.recorder?.wrote(file, offset: Int(offset), count: n) } }
                return n
            }
            return base.pwrite(fd, buffer, count, offset)
        }
        t.fsync = { fd in
            guard let (scope, file) = self.scope(forFD: fd) else { return base.fsync(fd) }
            if let e = scope.fault(.fsync, file) { return self.fail(e) }
            let rc = base.fsync(fd)
            if rc == 0 { self.locked { scope.recorder?.synced(fd: fd, file: file) } }
            return rc
        }
        t.fdatasync = { fd in
            guard let (scope, file) = self.scope(forFD: fd) else { return base.fdatasync(fd) }
            if let e = scope.fault(.fdatasync, file) { return self.fail(e) }
            let rc = base.fdatasync(fd)
            if rc == 0 { self.locked { scope.recorder?.synced(fd: fd, file: file) } }
            return rc
        }
        t.ftruncate = { fd, size in
            guard let (scope, file) = self.scope(forFD: fd) else { return base.ftruncate(fd, size) }
            if let e = scope.fault(.ftruncate, file) { return self.fail(e) }
            let rc = base.ftruncate(fd, size)
            if rc == 0 { self.locked { scope.recorder?.resized(file, to: Int(size), truncating: true) } }
            return rc
        }
        t.fallocate = { fd, offset, length in
            guard let (scope, file) = self.scope(forFD: fd) else { return base.fallocate(fd, offset, length) }
            if let e = scope.fault(.fallocate, file) { return e }  // posix_fallocate returns the error
            let rc = base.fallocate(fd, offset, length)
            if rc == 0 { self.locked { scope.recorder?.resized(file, to: Int(offset + length), truncating: false) } }
            return rc
        }
        t.mmap = { address, length, prot, flags, fd in
            // Zero pages mapped right after a file's mapping are that file growing in place.
            var owner: (IOScope, String)? = fd >= 0 ? self.scope(forFD: fd) : nil
            if fd < 0, flags & MAP_FIXED != 0, let a = address, let (scope, m) = self.scope(forAddress: a - 1) {
                owner = (scope, m.file)
            }
            guard let (scope, file) = owner else { return base.mmap(address, length, prot, flags, fd) }
            if let e = scope.fault(.mmap, file) {
                errno = e
                return nil
            }
            let p = base.mmap(address, length, prot, flags, fd)
            if let p { self.locked { scope.mapped(p, length: length, file: file, shared: flags & MAP_SHARED != 0) } }
            return p
        }
        t.munmap = { p, length in
            self.locked { self.scope?.unmapping(p, length: length) }
            return base.munmap(p, length)
        }
        t.msync = { p, length, flags in
            guard let (scope, mapping) = self.scope(forAddress: p) else { return base.msync(p, length, flags) }
            let offset = p - mapping.base
            if let e = scope.fault(.msync, mapping.file) {
                self.locked { scope.recorder?.msyncFailed(mapping, offset: offset, length: length) }
                return self.fail(e)
            }
            let started = monotonicNanos()
            let rc = base.msync(p, length, flags)
            if rc == 0 && flags & MS_SYNC != 0 {
                self.locked { scope.recorder?.msynced(mapping, offset: offset, length: length, startedAt: started) }
            }
            return rc
        }
        t.rename = { from, to in
            let a = String(cString: from), b = String(cString: to)
            guard let (scope, file) = self.scope(forPath: a) else { return base.rename(from, to) }
            if let e = scope.fault(.rename, file) { return self.fail(e) }
            let rc = base.rename(from, to)
            if rc == 0 {
                self.locked {
                    let to = (b as NSString).lastPathComponent
                    scope.renamed(file, to: to)
                    scope.recorder?.renamed(file, to: to)
                }
            }
            return rc
        }
        t.unlink = { path in
            let name = String(cString: path)
            guard let (scope, file) = self.scope(forPath: name) else { return base.unlink(path) }
            if let e = scope.fault(.unlink, file) { return self.fail(e) }
            let rc = base.unlink(path)
            if rc == 0 { self.locked { scope.recorder?.removed(file) } }
            return rc
        }
        SystemCalls.current = t
    }

    private func fail(_ e: Int32) -> Int32 {
        errno = e
        return -1
    }

    private func locked<R>(_ body: () -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    private func scope(forPath path: String) -> (IOScope, String)? {
        locked {
            guard let s = scope, path.hasPrefix(s.directory + "/") else { return nil }
            return (s, String(path.dropFirst(s.directory.count + 1)))
        }
    }

    private func scope(forFD fd: Int32) -> (IOScope, String)? {
        locked {
            guard let s = scope, let name = s.files[fd] else { return nil }
            return (s, name)
        }
    }

    private func scope(forAddress p: UnsafeMutableRawPointer) -> (IOScope, IOScope.Mapping)? {
        locked {
            guard let s = scope, let m = s.mappings.first(where: { p >= $0.base && p < $0.base + $0.length }) else { return nil }
            return (s, m)
        }
    }

    func withLock<R>(_ body: () -> R) -> R { locked(body) }
}

/// What one test sees of the store's I/O under `directory`, and the faults it injects.
final class IOScope: @unchecked Sendable {
    enum Call: String, CaseIterable {
        case open, pread, pwrite, fsync, fdatasync, ftruncate, fallocate, mmap, msync, rename, unlink
    }

    /// Fails matching calls with `errno`: after letting `skip` of them through, `count` times.
    struct Fault {
        var call: Call
        var errno: Int32
        var file: (String) -> Bool
        var skip = 0
        var count = Int.max
    }

    struct Mapping {
        let base: UnsafeMutableRawPointer
        let length: Int
        /// The file's current name: a rename carries open files and mappings along, as the
        /// kernel's inodes do.
        var file: String
        let shared: Bool
    }

    let directory: String
    fileprivate(set) var files: [Int32: String] = [:]
    fileprivate(set) var mappings: [Mapping] = []
    fileprivate var original = SystemCalls()
    private var faults: [Fault] = []
    /// Calls failed so far, by call.
    private(set) var injected: [Call: Int] = [:]
    /// Let half of a failing `pwrite` reach the file before the error.
    var shortWrites = false
    var recorder: PowerLossRecorder?

    init(directory: String) {
        if let resolved = realpath(directory, nil) {
            self.directory = String(cString: resolved)
            free(resolved)
        } else {
            self.directory = directory
        }
    }

    /// Adds a fault; it applies from the next call on.
    func inject(_ call: Call, _ errno: Int32, skip: Int = 0, count: Int = Int.max, file: @escaping (String) -> Bool = { _ in true }) {
        SyscallInterposer.shared.withLock { faults.append(Fault(call: call, errno: errno, file: file, skip: skip, count: count)) }
    }

    /// Removes every fault: the disk has room again.
    func heal() { SyscallInterposer.shared.withLock { faults.removeAll() } }

    var injectedTotal: Int { SyscallInterposer.shared.withLock { injected.values.reduce(0, +) } }

    /// Called before every call on a file of the scope (outside the interposer's lock; the
    /// call's thread waits for it): a test takes crash images from here.
    var before: ((Call, String) -> Void)?

    fileprivate func fault(_ call: Call, _ file: String) -> Int32? {
        before?(call, file)
        return SyscallInterposer.shared.withLock {
            for i in faults.indices where faults[i].call == call && faults[i].count > 0 && faults[i].file(file) {
                if faults[i].skip > 0 {
                    faults[i].skip -= 1
                    continue
                }
                faults[i].count -= 1
                injected[call, default: 0] += 1
                return faults[i].errno
            }
            return nil
        }
    }

    fileprivate func opened(_ fd: Int32, _ file: String, created: Bool) {
        files[fd] = file
        recorder?.opened(fd: fd, file: file)
    }

    fileprivate func closing(_ fd: Int32) { files[fd] = nil }

    fileprivate func renamed(_ file: String, to: String) {
        for (fd, name) in files where name == file { files[fd] = to }
        for i in mappings.indices where mappings[i].file == file { mappings[i].file = to }
    }

    fileprivate func mapped(_ p: UnsafeMutableRawPointer, length: Int, file: String, shared: Bool) {
        mappings.append(Mapping(base: p, length: length, file: file, shared: shared))
    }

    fileprivate func unmapping(_ p: UnsafeMutableRawPointer, length: Int) {
        mappings.removeAll { $0.base >= p && $0.base < p + length }
    }
}
