#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The one place the store calls the kernel for file I/O.
///
/// Every call goes through an instance of this table so that tests can inject `ENOSPC`,
/// `EIO` and short writes (issue 7), in the manner of swift-system's mockable syscalls.
/// Callers use the throwing wrappers in `SystemCalls+Wrappers.swift`, which retry `EINTR`
/// and turn `-1` plus `errno` into `SystemError`.
struct SystemCalls: @unchecked Sendable {
    var open: (UnsafePointer<CChar>, Int32, mode_t) -> Int32 = { Glibc.open($0, $1, $2) }
    var close: (Int32) -> Int32 = { Glibc.close($0) }
    var pread: (Int32, UnsafeMutableRawPointer, Int, off_t) -> Int = { Glibc.pread($0, $1, $2, $3) }
    var pwrite: (Int32, UnsafeRawPointer, Int, off_t) -> Int = { Glibc.pwrite($0, $1, $2, $3) }
    var fsync: (Int32) -> Int32 = { Glibc.fsync($0) }
    var fdatasync: (Int32) -> Int32 = { Glibc.fdatasync($0) }
    var ftruncate: (Int32, off_t) -> Int32 = { Glibc.ftruncate($0, $1) }
    var fallocate: (Int32, off_t, off_t) -> Int32 = { Glibc.posix_fallocate($0, $1, $2) }
    /// `mmap(address, length, prot, flags, fd, 0)`; `nil` on failure, with `errno` set.
    var mmap: (UnsafeMutableRawPointer?, Int, Int32, Int32, Int32) -> UnsafeMutableRawPointer? = { address, length, prot, flags, fd in
        let p = Glibc.mmap(address, length, prot, flags, fd, 0)
        return p == MAP_FAILED ? nil : p
    }
    var munmap: (UnsafeMutableRawPointer, Int) -> Int32 = { Glibc.munmap($0, $1) }
    var msync: (UnsafeMutableRawPointer, Int, Int32) -> Int32 = { Glibc.msync($0, $1, $2) }
    var rename: (UnsafePointer<CChar>, UnsafePointer<CChar>) -> Int32 = { Glibc.rename($0, $1) }
    var unlink: (UnsafePointer<CChar>) -> Int32 = { Glibc.unlink($0) }
    /// A hash of the kernel's boot id: it changes at every boot, so equal values prove that
    /// the page cache has not been lost since (no power cut, no OS crash). 0 when unknown.
    var bootID: () -> UInt64 = { SystemCalls.currentBoot }

    /// The table the store uses; tests swap it to inject faults.
    nonisolated(unsafe) static var current = SystemCalls()

    /// Read once: the boot id cannot change while the process runs.
    private static let currentBoot: UInt64 = {
        let fd = Glibc.open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { _ = Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return 0 }
        return buffer.withUnsafeBytes { hash64(UnsafeRawBufferPointer(rebasing: $0[0..<n]), seed: 0x626F_6F74) } | 1
    }()
}
