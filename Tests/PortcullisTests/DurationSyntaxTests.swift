import Testing

@testable import Portcullis

@Suite("Duration syntax")
struct DurationSyntaxTests {
    @Test("reads every unit and bare seconds", arguments: [
        ("250ms", Duration.milliseconds(250)), ("0", .zero), ("30", .seconds(30)), ("30s", .seconds(30)),
        ("15m", .seconds(900)), ("2h", .seconds(7200)), ("7d", .seconds(604_800)), ("0ms", .zero),
        ("1000ms", .seconds(1)),
    ])
    func valid(text: String, expected: Duration) {
        #expect(DurationSyntax.parse(text) == expected)
    }

    @Test("refuses signs, fractions, spaces, unknown or upper-case units and overflow", arguments: [
        "", "-1", "-5s", "+5s", "1.5s", "1h30m", " 5s", "5s ", "5 s", "s", "ms", "5S", "5M", "5x", "5sec",
        "10w", "99999999999999999999", "999999999999999999d", "0x10",
    ])
    func invalid(text: String) {
        #expect(DurationSyntax.parse(text) == nil)
    }

    @Test("accepts substrings")
    func substrings() {
        let text = "timeout=45s"
        #expect(DurationSyntax.parse(text.split(separator: "=")[1]) == .seconds(45))
    }
}
