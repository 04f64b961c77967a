/// The canonical spelling of a request path, so that a route rule can never be bypassed by
/// spelling the same path differently (SPEC §2, "Paths are matched after normalization").
///
/// One pass over the raw bytes into one output buffer:
/// - percent-escapes of unreserved characters (ALPHA, DIGIT, `-`, `.`, `_`, `~`) are decoded;
///   every other valid escape is kept with its hex digits uppercased, so a path has one spelling;
/// - `%2F`, `%5C` and `%00` (an encoded `/`, `\` or NUL), a malformed escape, and a raw byte
///   that RFC 3986 does not allow in a path are refused;
/// - repeated `/` are collapsed and `.` / `..` segments resolved (after decoding, so `%2e%2e`
///   is `..`); a `..` that would climb above the root is refused; a trailing `/` is kept.
///
/// Two choices the SPEC leaves open, taken the way a careful proxy operator would expect:
/// - raw `[` and `]` are accepted (browsers send them unescaped even though RFC 3986 reserves
///   them for IP literals in the authority);
/// - a segment that is `.` or `..` followed by `;` parameters (`/..;/`) is refused, because
///   servlet containers strip path parameters before resolving dot segments, which would let
///   `/public/..;/admin` reach `/admin` upstream after matching `/public/` here.
public enum PathNormalizer {
    /// Normalizes the path part of an origin-form request target (everything before the first `?`,
    /// passed in as raw bytes).
    ///
    /// Returns the normalized path, or `nil` when the request must be refused with 400 `bad_request`.
    /// Pure and thread-safe; allocates only the result.
    public static func normalize<Bytes: Collection<UInt8>>(_ rawPath: Bytes) -> String? {
        var input = rawPath.makeIterator()
        guard input.next() == .slash else { return nil }
        var output = NormalizedPathBuffer(capacity: rawPath.count)
        while let byte = input.next() {
            switch byte {
            case .slash:
                guard output.closeSegment(isLast: false) else { return nil }
            case .percent:
                guard let high = input.next().flatMap(hexValue), let low = input.next().flatMap(hexValue) else {
                    return nil
                }
                let decoded = high << 4 | low
                if isUnreserved(decoded) {
                    output.append(decoded)
                } else if decoded == .slash || decoded == .backslash || decoded == 0 {
                    return nil
                } else {
                    output.append(.percent)
                    output.append(uppercaseHexDigit(high))
                    output.append(uppercaseHexDigit(low))
                }
            default:
                guard isAllowedRaw(byte) else { return nil }
                output.append(byte)
            }
        }
        guard output.closeSegment(isLast: true) else { return nil }
        return output.string
    }

    /// ALPHA / DIGIT / `-` / `.` / `_` / `~` (RFC 3986 §2.3).
    @inline(__always)
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// A byte that may appear unescaped inside a path segment: unreserved, sub-delims, `:`, `@`
    /// (RFC 3986 `pchar`), plus `[` and `]` (see the type's documentation). `/` and `%` are
    /// handled by the caller.
    @inline(__always)
    static func isAllowedRaw(_ byte: UInt8) -> Bool {
        if isUnreserved(byte) { return true }
        switch byte {
        case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
            UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "["), UInt8(ascii: "]"):
            return true
        default:
            return false
        }
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte &- UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte &- UInt8(ascii: "A") &+ 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte &- UInt8(ascii: "a") &+ 10
        default: return nil
        }
    }

    @inline(__always)
    static func uppercaseHexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "A") &+ (nibble &- 10)
    }
}

/// The output of `PathNormalizer`: always starts with `/`, and between segments always ends
/// with `/`, so resolving `..` is a truncation back to the previous `/`.
struct NormalizedPathBuffer {
    private var bytes: [UInt8]
    /// Index in `bytes` where the segment being written starts (just after a `/`).
    private var segmentStart: Int

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity + 1)
        bytes.append(.slash)
        segmentStart = 1
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        bytes.append(byte)
    }

    /// Ends the current segment at a `/` (or at the end of the path when `isLast`), resolving
    /// empty, `.` and `..` segments. Returns false when the path must be refused.
    mutating func closeSegment(isLast: Bool) -> Bool {
        switch bytes.count - segmentStart {
        case 0:
            // `//` or a trailing `/`: the buffer already ends with `/`.
            return true
        case 1 where bytes[segmentStart] == .dot:
            bytes.removeLast()
            return true
        case 2 where bytes[segmentStart] == .dot && bytes[segmentStart + 1] == .dot:
            bytes.removeLast(2)
            // `bytes` ends with the `/` before `..`; at the root there is nothing to climb to.
            guard bytes.count > 1 else { return false }
            bytes.removeLast()
            while bytes.last != .slash { bytes.removeLast() }
            segmentStart = bytes.count
            return true
        default:
            guard !isDotSegmentWithParameters() else { return false }
            if !isLast { bytes.append(.slash) }
            segmentStart = bytes.count
            return true
        }
    }

    /// `.;x` or `..;x`: a dot segment to servers that strip `;` path parameters first.
    private func isDotSegmentWithParameters() -> Bool {
        var index = segmentStart
        while index < bytes.count, bytes[index] == .dot { index += 1 }
        let dots = index - segmentStart
        return (dots == 1 || dots == 2) && index < bytes.count && bytes[index] == .semicolon
    }

    /// Every byte is ASCII, so decoding cannot fail or replace anything.
    var string: String { String(decoding: bytes, as: UTF8.self) }
}

extension UInt8 {
    fileprivate static let slash = UInt8(ascii: "/")
    fileprivate static let backslash = UInt8(ascii: "\\")
    fileprivate static let percent = UInt8(ascii: "%")
    fileprivate static let dot = UInt8(ascii: ".")
    fileprivate static let semicolon = UInt8(ascii: ";")
}
