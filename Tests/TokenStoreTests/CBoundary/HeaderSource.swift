import Foundation

/// The names `include/tokenstore.h` defines, read from its text, so that the parity suites
/// notice a constant or a struct that is added to the header and not to them.
enum HeaderSource {
    /// The header's lines.
    static let lines: [Substring] = {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("include/tokenstore.h").path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n")
    }()

    /// Every `#define`d name that starts with `prefix`.
    static func macros(prefix: String) -> Set<String> {
        Set(lines.compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard words.count >= 2, words[0] == "#define", words[1].hasPrefix(prefix) else { return nil }
            return String(words[1])
        })
    }

    /// The status names: `TS_OK`, `TS_STALE`, `TS_NOTFOUND` and every `TS_E*`.
    static var statuses: Set<String> {
        macros(prefix: "TS_").filter { ["TS_OK", "TS_STALE", "TS_NOTFOUND"].contains($0) || $0.hasPrefix("TS_E") }
    }

    /// The structs the header defines (`typedef struct ts_x {`); opaque handles are not among them.
    static var structs: Set<String> {
        Set(lines.compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard words.count == 4, words[0] == "typedef", words[1] == "struct", words[3] == "{" else { return nil }
            return String(words[2])
        })
    }
}
