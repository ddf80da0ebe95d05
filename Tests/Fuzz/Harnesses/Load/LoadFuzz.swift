// Fuzz harness 3 (issue 7): NDJSON lines for `tokenstore load`.
//
// The input is a file of lines, read by the CLI's own `LineReader` and handed line by line to
// `LoadCommand.apply`, the function `tokenstore load` runs on each line (reached through a
// private import), against a store reused across inputs. Beyond not crashing:
// - a line that parses as an event survives `dump`'s encoding: encoding it, parsing that and
//   encoding again gives the same bytes;
// - a store error never stops the load of a healthy store;
// - a rejection message never repeats a string value of the line (no ids or tokens in
//   messages);
// - after each input, `verify` finds nothing.

#if canImport(Glibc)
import Glibc
#endif
import TokenStore
@_private(sourceFile: "LoadCommand.swift") import TokenStoreCLI

@_cdecl("LLVMFuzzerTestOneInput")
public func loadFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let session = LoadSession.shared
    if FuzzEnvironment.freshStorePerInput { session.reset() }
    let store = session.open()
    writeFile(session.inputPath, Array(UnsafeBufferPointer(start: data, count: size)))

    var summary = LoadCommand.Summary()
    do {
        let reader = try LineReader.open(session.inputPath, standardInput: -1, maxLineBytes: 8192)
        defer { reader.close() }
        try reader.forEachLine { (number, line) throws(CommandFailure) in
            summary.lines = number
            guard case .text(let bytes) = line else {
                summary.rejected += 1
                return true
            }
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return true }
            checkRoundTrip(bytes)
            let problem = try LoadCommand.apply(bytes, to: store, summary: &summary, line: number)
            FuzzEnvironment.trace("line \(number): \(problem ?? "applied")")
            if let problem {
                summary.rejected += 1
                checkMessage(problem, line: bytes)
            }
            return true
        }
    } catch {
        fuzzFailure("load stopped with a store error on a healthy store: \(error.message)")
    }
    fuzzCheck(summary.applied + summary.stale + summary.rejected <= summary.lines, "load: more outcomes than lines")
    _ = summary.text

    let problems: [String]
    do { problems = try store.verify() } catch { fuzzFailure("verify threw \(error)") }
    fuzzCheck(problems.isEmpty, "verify after the input: \(problems.prefix(3).joined(separator: "; "))")
    if let count = try? store.count(), count > 300 { session.reset() }
    return 0
}

/// The harness's store and input file, kept across inputs.
final class LoadSession {
    nonisolated(unsafe) static let shared = LoadSession()

    let directory = FuzzEnvironment.scratchRoot + "/load-store"
    let inputPath = FuzzEnvironment.scratchRoot + "/input.ndjson"
    private var store: TokenStore?

    func open() -> TokenStore {
        if let store { return store }
        var options = StoreOptions()
        options.shards = 2
        options.durability = .none
        options.changelogLimit = 8
        options.quarantineMisconfigured = true
        options.checkpointLogBytes = 4096
        do {
            let opened = try TokenStore(path: directory, options: options)
            store = opened
            return opened
        } catch {
            fuzzFailure("opening the load store failed: \(error)")
        }
    }

    /// Closes and deletes the store; the next `open` starts empty.
    func reset() {
        if let store {
            do { try store.close() } catch { fuzzFailure("closing the load store failed: \(error)") }
        }
        store = nil
        removeTree(directory)
    }
}

/// A valid event re-encodes to a fixed point: `dump | load` keeps every event as it was.
func checkRoundTrip(_ bytes: UnsafeBufferPointer<UInt8>) {
    guard let json = try? JSONParser.parse(bytes), let event = try? Event(json: json) else { return }
    let first = event.jsonLine
    let reparsed: Event
    do {
        reparsed = try Event(json: try JSONParser.parse(String(decoding: first, as: UTF8.self)))
    } catch {
        fuzzFailure("a valid \(event.name) event does not parse after encoding: \(error)")
    }
    fuzzCheck(reparsed.jsonLine == first, "a \(event.name) event changes when encoded twice")
}

/// A rejection message must not repeat a string value of the line, except the vocabulary
/// the messages are made of and what `Event.display` deliberately shows (short snake_case
/// names, such as an unknown event's).
func checkMessage(_ message: String, line: UnsafeBufferPointer<UInt8>) {
    guard let json = try? JSONParser.parse(line), case .object(let members) = json else { return }
    for (_, value) in members {
        guard case .string(let text) = value, text.utf8.count >= 8 else { continue }
        let wordy = text.unicodeScalars.allSatisfy { ($0 >= "a" && $0 <= "z") || $0 == " " || $0 == "_" || $0 == "," }
        if wordy { continue }  // could be part of a message's own wording
        if Event.display(text) != "(a name that is not shown)" { continue }
        fuzzCheck(!message.contains(text), "a rejection message repeats a value of the line")
    }
}
