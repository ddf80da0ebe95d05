import Testing
import TokenStore
@testable import TokenStoreCLI

/// The hand-written JSON reader and writer behind `load` and `dump`.
@Suite struct CLINDJSONTests {
    private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(text) }

    private func object(_ text: String) throws -> [String: JSONValue] {
        guard case .object(let members) = try parse(text) else { Issue.record("not an object"); return [:] }
        return Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func integersStayExactAcrossTheWholeInt64Range() throws {
        let fields = try object(#"{"a": 9223372036854775807, "b": -9223372036854775808, "c": 0}"#)
        guard case .int(let a) = fields["a"], case .int(let b) = fields["b"], case .int(let c) = fields["c"] else {
            Issue.record("expected integers")
            return
        }
        #expect(a == .max)
        #expect(b == .min)
        #expect(c == 0)
    }

    @Test func fractionsAndExponentsAreNotIntegers() throws {
        let fields = try object(#"{"a": 1.5, "b": 1e3, "c": 99999999999999999999}"#)
        for key in ["a", "b", "c"] {
            guard case .double = fields[key] else {
                Issue.record("\(key) should be a double")
                continue
            }
        }
    }

    @Test func escapesAndSurrogatePairsDecode() throws {
        let fields = try object(#"{"s": "a\"b\\c\/d\n\t\u00e9\ud83d\ude00"}"#)
        guard case .string(let s) = fields["s"] else { Issue.record("expected a string"); return }
        #expect(s == "a\"b\\c/d\n\té😀")
    }

    @Test(arguments: [
        #"{"a": 1,}"#, #"{"a" 1}"#, #"{"a": 01}"#, #"{"a": "\ud800"}"#, #"{"a": "x"} extra"#, #"{"a": tru}"#,
        "{\"a\": \"tab\there\"}", #"{"a": "\q"}"#, #"["#, "", #"{"a": -}"#, #"{"a": 1.}"#,
    ])
    func malformedTextIsRejected(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
    }

    @Test func syntaxErrorsNameAColumnNotTheContent() {
        do {
            _ = try JSONParser.parse(#"{"token": "secret-token-value" "#)
            Issue.record("should fail")
        } catch {
            #expect(error.column > 0)
            #expect(!error.message.contains("secret"))
        }
    }

    @Test func invalidUTF8InAStringIsRejected() {
        var bytes: [UInt8] = Array(#"{"a": "x"#.utf8) + [0xFF] + Array(#""}"#.utf8)
        _ = bytes.withUnsafeMutableBufferPointer { buffer in
            #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(UnsafeBufferPointer(buffer)) }
        }
    }

    @Test func deepNestingIsRefusedInsteadOfOverflowingTheStack() {
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
    }

    @Test func theWriterEscapesWhatTheParserReadsBack() throws {
        let awkward = "quote\" backslash\\ newline\n nul\u{0} bell\u{7} é 😀"
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("s", awkward)
        writer.field("n", Int64(-42))
        writer.field("b", true)
        writer.field("z", nil as String?)
        writer.endObject()
        let fields = try object(String(decoding: writer.bytes, as: UTF8.self))
        guard case .string(let s) = fields["s"], case .int(let n) = fields["n"], case .bool(let b) = fields["b"],
            case .null = fields["z"]
        else {
            Issue.record("unexpected shape")
            return
        }
        #expect(s == awkward)
        #expect(n == -42)
        #expect(b)
    }
}
