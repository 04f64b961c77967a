/// The duration syntax of `gateway.yaml` and the CLI: `250ms`, `30s`, `15m`, `2h`, `7d`, or a bare
/// integer meaning seconds.
///
/// One whole number and one lower-case unit; no sign, no fraction, no compound forms (`1h30m`),
/// no spaces. Values that overflow `Int64` of their unit are refused rather than clamped.
public enum DurationSyntax {
    /// Parses `text`; `nil` when it is not a valid, non-negative duration.
    public static func parse(_ text: some StringProtocol) -> Duration? {
        let utf8 = Array(text.utf8)
        let digitCount = utf8.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
        guard digitCount > 0, digitCount <= 18 else { return nil }
        var value: Int64 = 0
        for digit in utf8[..<digitCount] { value = value * 10 + Int64(digit - UInt8(ascii: "0")) }

        switch String(decoding: utf8[digitCount...], as: UTF8.self) {
        case "ms": return .milliseconds(value)
        case "", "s": return scaled(value, by: 1)
        case "m": return scaled(value, by: 60)
        case "h": return scaled(value, by: 3600)
        case "d": return scaled(value, by: 86400)
        default: return nil
        }
    }

    private static func scaled(_ value: Int64, by secondsPerUnit: Int64) -> Duration? {
        let (seconds, overflow) = value.multipliedReportingOverflow(by: secondsPerUnit)
        return overflow ? nil : .seconds(seconds)
    }
}
