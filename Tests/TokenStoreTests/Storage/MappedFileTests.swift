import Foundation
import Testing
@testable import TokenStore

/// A store file's mapping: growth in place inside the reserved address range, and the move
/// when a file outgrows it.
@Suite struct MappedFileTests {
    private static let page = MappedFile.pageSize

    private func withFile(size: Int, _ body: (MappedFile, String) throws -> Void) throws {
        let dir = TemporaryStorePath()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let path = dir.path + "/file"
        let file = try MappedFile(path: path, name: "file", fileID: 1, minimumSize: size)
        try body(file, path)
    }

    @Test func growingInPlaceKeepsTheBaseAndTheWrittenBytesAndReadsZeroBeyond() throws {
        try withFile(size: 4 * Self.page) { file, _ in
            let base = file.base
            file.store(UInt64(0xABCD), 8)
            try file.grow(to: 64 * Self.page)
            #expect(file.base == base, "growth within the reservation moved the mapping")
            #expect(file.load(8, as: UInt64.self) == 0xABCD)
            #expect(file.load(40 * Self.page, as: UInt64.self) == 0)
            file.store(UInt64(7), 40 * Self.page)
            #expect(file.load(40 * Self.page, as: UInt64.self) == 7)
        }
    }

    @Test func outgrowingTheReservationMovesTheMappingWithEveryUncheckpointedPage() throws {
        try withFile(size: 4 * Self.page) { file, path in
            file.store(UInt64(1), 0)
            try file.grow(to: 8 * Self.page)
            file.store(UInt64(2), 6 * Self.page)  // a page of the in-place growth
            let reserved = MappedFile.reservation(for: 4 * Self.page)
            try file.grow(to: reserved + Self.page)
            #expect(file.size == reserved + Self.page)
            #expect(file.load(0, as: UInt64.self) == 1)
            #expect(file.load(6 * Self.page, as: UInt64.self) == 2)
            #expect(file.load(reserved, as: UInt64.self) == 0)
            file.store(UInt64(3), reserved)
            #expect(file.load(reserved, as: UInt64.self) == 3)
            // The file itself holds none of it until a checkpoint writes the pages.
            let onDisk = try #require(FileManager.default.contents(atPath: path))
            #expect(onDisk.count == reserved + Self.page)
            #expect(onDisk.prefix(8).allSatisfy { $0 == 0 })
        }
    }
}
