import NIOCore

/// Byte-level helpers for header names and values: ASCII case-insensitive comparison and
/// the RFC 9110 character classes, without creating Strings.
enum HeaderNames {
    /// `tchar` of RFC 9110 section 5.6.2.
    static let tokenTable: [Bool] = (0..<256).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(UInt8(byte))
        }
    }

    @inline(__always)
    static func isToken(_ byte: UInt8) -> Bool { tokenTable[Int(byte)] }

    /// `tchar` without lowercase letters: the bytes of a request method. Methods are
    /// case-sensitive (RFC 9110 section 9.1) and route rules compare them exactly, but some
    /// upstreams fold case, so `delete` could miss a `methods:` rule here and act as DELETE there.
    static let methodTable: [Bool] = (0..<256).map { byte in
        tokenTable[byte] && !(UInt8(ascii: "a")...UInt8(ascii: "z")).contains(UInt8(byte))
    }

    @inline(__always)
    static func isMethodByte(_ byte: UInt8) -> Bool { methodTable[Int(byte)] }

    /// A byte allowed in a field value: HTAB, SP, VCHAR, obs-text. CR, LF, NUL and other
    /// controls are not.
    @inline(__always)
    static func isValueByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }

    /// Compares `buffer[range]` with an all-lowercase ASCII name, ignoring case.
    static func equalsLowercased(_ buffer: ByteBuffer, _ range: Range<Int>, _ lowercased: [UInt8]) -> Bool {
        guard range.count == lowercased.count else { return false }
        return buffer.withUnsafeReadableBytes { raw in
            let base = range.lowerBound - 0
            for offset in 0..<lowercased.count where lower(raw[base + offset]) != lowercased[offset] {
                return false
            }
            return true
        }
    }

    static func equalsLowercased(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercased: StaticString) -> Bool {
        guard range.count == lowercased.utf8CodeUnitCount else { return false }
        let expected = lowercased.utf8Start
        for offset in 0..<range.count where lower(raw[range.lowerBound + offset]) != expected[offset] {
            return false
        }
        return true
    }

    /// Classifies a header name (bytes already validated as a token).
    static func classify(_ raw: UnsafeRawBufferPointer, _ name: Range<Int>) -> HeaderKind {
        switch name.count {
        case 2: if equalsLowercased(raw, name, "te") { return .te }
        case 4: if equalsLowercased(raw, name, "host") { return .host }
        case 6:
            if equalsLowercased(raw, name, "cookie") { return .cookie }
            if equalsLowercased(raw, name, "expect") { return .expect }
        case 7:
            if equalsLowercased(raw, name, "trailer") { return .trailer }
            if equalsLowercased(raw, name, "upgrade") { return .upgrade }
        case 10:
            if equalsLowercased(raw, name, "connection") { return .connection }
            if equalsLowercased(raw, name, "keep-alive") { return .keepAlive }
        case 12: if equalsLowercased(raw, name, "x-request-id") { return .xRequestID }
        case 13: if equalsLowercased(raw, name, "authorization") { return .authorization }
        case 14:
            if equalsLowercased(raw, name, "content-length") { return .contentLength }
            if equalsLowercased(raw, name, "content_length") { return .framingLookalike }
        case 15: if equalsLowercased(raw, name, "x-forwarded-for") { return .xForwardedFor }
        case 16: if equalsLowercased(raw, name, "x-forwarded-host") { return .xForwardedHost }
        case 17:
            if equalsLowercased(raw, name, "transfer-encoding") { return .transferEncoding }
            if equalsLowercased(raw, name, "x-forwarded-proto") { return .xForwardedProto }
            if equalsLowercased(raw, name, "transfer_encoding") { return .framingLookalike }
        default: break
        }
        if name.count > 6, equalsLowercased(raw, name.lowerBound..<name.lowerBound + 6, "proxy-") { return .proxy }
        return .other
    }
}
