import Testing

@testable import Portcullis

@Suite("JSON values")
struct JSONValueTests {
    @Test("parses nested documents and reads claims")
    func parsesNested() throws {
        let value = try #require(JSONValue.parse(Array(#"{"a":[1,2.5,"x\u00e9\n"],"b":{"c":true,"d":null}}"#.utf8)))
        #expect(value["a"] == .array([.number(1), .number(2.5), .string("xé\n")]))
        #expect(value["b"]?["c"] == .bool(true))
        #expect(value["b"]?["d"] == .null)
    }

    @Test("refuses duplicate keys, trailing data, leading zeros and lone surrogates", arguments: [
        #"{"a":1,"a":2}"#, #"{"a":1} x"#, "01", #""\ud800""#, "[1,]", #"{"a" 1}"#, "", "tru", "\"a\u{01}\"",
    ])
    func refusesInvalid(text: String) {
        #expect(JSONValue.parse(Array(text.utf8)) == nil)
    }

    @Test("decodes surrogate pairs")
    func surrogatePairs() {
        #expect(JSONValue.parse(Array(#""\ud83d\ude00""#.utf8)) == .string("😀"))
    }

    @Test("refuses nesting deeper than 64")
    func refusesDeepNesting() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(JSONValue.parse(Array(deep.utf8)) == nil)
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(JSONValue.parse(Array(ok.utf8)) != nil)
    }

    @Test("writes compact JSON with sorted keys and integral numbers without a fraction")
    func writesCompact() {
        let value: JSONValue = .object(["b": .array([1, .number(1.5)]), "a": "q\"\u{01}"])
        #expect(value.compactText == #"{"a":"q\"\u0001","b":[1,1.5]}"#)
    }

    @Test("reads whole-second times and rejects fractions")
    func int64Values() {
        #expect(JSONValue.number(1_700_000_000).int64Value == 1_700_000_000)
        #expect(JSONValue.number(1.5).int64Value == nil)
        #expect(JSONValue.string("1").int64Value == nil)
    }
}
