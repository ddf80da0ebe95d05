import Foundation
@testable import TokenStore

#if canImport(Glibc)
import Glibc
#endif

/// A model of what a disk holds after a power loss, kept from the store's own calls (in the
/// manner of SQLite's crash simulation, `test6.c`).
///
/// For every file the store opens under the scope's directory it keeps two images:
/// - `disk`: the bytes known to be on the medium. A completed `fsync`/`fdatasync` copies the
///   whole file there; a completed `msync(MS_SYNC)` copies its range of a shared mapping.
/// - `clean`: what the kernel believes is on the medium. Normally equal to `disk`; after a
///   failed `msync` (`msyncFailed`) the kernel has marked the range clean without writing it,
///   as Linux does after a writeback error, so a later successful sync skips those pages.
///
/// `crashImage` builds the files as the disk may hold them after a power loss at that moment:
/// every 512-byte sector whose current content differs from `disk` and that the kernel still
/// counts as dirty may have been written back by the kernel on its own, or not: it is taken
/// new or old at random. Sectors the kernel counts as clean keep `disk`.
///
/// Simplifications: file creation, size changes, `rename` and `unlink` are durable at once
/// (the store fsyncs the directory right after each); a sector is written whole or not at all.
///
/// A power loss is followed by a boot: the image's log segments carry a writer's boot other
/// than the current one, as they would when the store reopens after the machine restarts.
final class PowerLossRecorder {
    struct Image {
        var disk: [UInt8]
        var clean: [UInt8]
        /// Pages a `pwrite` dirtied, whatever their content: dirty even if unchanged.
        var written = Set<Int>()
    }

    let directory: String
    private(set) var images: [String: Image] = [:]
    /// Counters for the report.
    private(set) var syncs = 0
    private(set) var msyncs = 0
    /// When each completed `msync` of a log segment started (monotonic nanoseconds).
    private(set) var logSyncStarts: [UInt64] = []

    init(directory: String) { self.directory = directory }

    // MARK: Events (called under the interposer's lock)

    func opened(fd: Int32, file: String) {
        if images[file] == nil {
            // A file the store created in this scope starts empty on disk; one that existed
            // before counts as durable as it is.
            let current = read(file)
            images[file] = Image(disk: current, clean: current)
        }
    }

    func synced(fd: Int32, file: String) {
        let current = read(file)
        images[file] = Image(disk: current, clean: current)
        syncs += 1
    }

    func wrote(_ file: String, offset: Int, count: Int) {
        guard count > 0 else { return }
        images[file]?.written.formUnion((offset / 4096)...((offset + count - 1) / 4096))
    }

    func msynced(_ m: IOScope.Mapping, offset: Int, length: Int, startedAt: UInt64 = 0) {
        guard m.shared, var image = images[m.file] else { return }
        if m.file.hasPrefix("wal-") { logSyncStarts.append(startedAt) }
        let start = offset & ~4095
        let end = min(m.length, offset + length)
        grow(&image, to: end)
        let current = UnsafeRawBufferPointer(start: m.base, count: m.length)
        // Only pages the kernel counts as dirty are written.
        var page = start
        while page < end {
            let to = min(page + 4096, end)
            let dirty = image.written.contains(page / 4096)
                || image.clean.withUnsafeBufferPointer { memcmp($0.baseAddress! + page, current.baseAddress! + page, to - page) != 0 }
            if dirty {
                image.written.remove(page / 4096)
                image.disk.replaceSubrange(page..<to, with: current[page..<to])
                image.clean.replaceSubrange(page..<to, with: current[page..<to])
            }
            page = to
        }
        images[m.file] = image
        msyncs += 1
    }

    func msyncFailed(_ m: IOScope.Mapping, offset: Int, length: Int) {
        guard m.shared, var image = images[m.file] else { return }
        let start = offset & ~4095
        let end = min(m.length, offset + length)
        grow(&image, to: end)
        let current = UnsafeRawBufferPointer(start: m.base, count: m.length)
        image.clean.replaceSubrange(start..<end, with: current[start..<end])
        for page in stride(from: start, to: end, by: 4096) { image.written.remove(page / 4096) }
        images[m.file] = image
    }

    func resized(_ file: String, to size: Int, truncating: Bool) {
        guard var image = images[file] else { return }
        if size < image.disk.count && truncating {
            image.disk.removeLast(image.disk.count - size)
            image.clean.removeLast(image.clean.count - size)
        } else {
            grow(&image, to: size)
        }
        images[file] = image
    }

    func renamed(_ file: String, to: String) {
        images[to] = images.removeValue(forKey: file)
    }

    func removed(_ file: String) { images[file] = nil }

    private func grow(_ image: inout Image, to size: Int) {
        if image.disk.count < size { image.disk += [UInt8](repeating: 0, count: size - image.disk.count) }
        if image.clean.count < size { image.clean += [UInt8](repeating: 0, count: size - image.clean.count) }
    }

    private func read(_ file: String) -> [UInt8] {
        (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/" + file)))) ?? []
    }

    // MARK: The crash

    /// How unsynced sectors come out of the crash.
    enum Tearing {
        /// Each dirty sector independently old or new.
        case random
        /// Every dirty sector old: nothing unsynced reached the disk.
        case dropAll
        /// Every dirty sector new: the kernel wrote everything back just before.
        case keepAll
    }

    /// Writes into `destination` the store as the disk may hold it after a power loss now.
    /// - Returns: how many dirty sectors there were, and how many of them came out torn (old).
    @discardableResult
    func crashImage(into destination: String, tearing: Tearing, using rng: inout SeededGenerator) throws -> (dirty: Int, dropped: Int) {
        // The syncer may complete an msync meanwhile: build the image at one instant.
        var result: Result<(Int, Int), any Error> = .success((0, 0))
        var generator = rng
        SyscallInterposer.shared.withLock {
            result = Result { try buildImage(into: destination, tearing: tearing, using: &generator) }
        }
        rng = generator
        return try result.get()
    }

    private func buildImage(into destination: String, tearing: Tearing, using rng: inout SeededGenerator) throws -> (dirty: Int, dropped: Int) {
        mkdir(destination, 0o700)
        var dirty = 0, dropped = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            let current = read(name)
            guard let image = images[name] else {
                try writeFile(destination + "/" + name, Data(current))
                continue
            }
            var out = current
            var old = image.disk, clean = image.clean
            if old.count < current.count { old += [UInt8](repeating: 0, count: current.count - old.count) }
            if clean.count < current.count { clean += [UInt8](repeating: 0, count: current.count - clean.count) }
            current.withUnsafeBufferPointer { cur in
                old.withUnsafeBufferPointer { old in
                    clean.withUnsafeBufferPointer { clean in
                        out.withUnsafeMutableBufferPointer { out in
                            var sector = 0
                            while sector < cur.count {
                                let n = min(512, cur.count - sector)
                                if memcmp(cur.baseAddress! + sector, old.baseAddress! + sector, n) != 0 {
                                    dirty += 1
                                    let keepNew: Bool
                                    if memcmp(cur.baseAddress! + sector, clean.baseAddress! + sector, n) == 0
                                        && !image.written.contains(sector / 4096)
                                    {
                                        keepNew = false  // marked clean after a failed writeback: lost
                                    } else {
                                        switch tearing {
                                        case .random: keepNew = Bool.random(using: &rng)
                                        case .dropAll: keepNew = false
                                        case .keepAll: keepNew = true
                                        }
                                    }
                                    if !keepNew {
                                        dropped += 1
                                        (out.baseAddress! + sector).update(from: old.baseAddress! + sector, count: n)
                                    }
                                }
                                sector += n
                            }
                        }
                    }
                }
            }
            if name.hasPrefix("wal-") && out.count >= WriteAheadLog.bootOffset + 8 {
                let earlier = ~SystemCalls.current.bootID()
                withUnsafeBytes(of: earlier) { out.replaceSubrange(WriteAheadLog.bootOffset..<(WriteAheadLog.bootOffset + 8), with: $0) }
            }
            try writeFile(destination + "/" + name, Data(out))
        }
        return (dirty, dropped)
    }
}
