/// A host name as a route-table key: port removed, one trailing `.` removed (`example.com.` is
/// `example.com`), IPv6 literals in brackets, compared and hashed ASCII-case-insensitively.
///
/// Both sides are read through here — the `Host` header of each request and the `host:` of each
/// route once when the table is built — so they compare with `==`. Reading a request's host is a
/// slice of the header value plus one pass to hash it: no lowercased copy is made.
struct RouteHost: Hashable, Sendable {
    /// The host as written, without port or trailing dot (case as received).
    let text: Substring
    /// FNV-1a 64 of the ASCII-lowercased bytes of `text`.
    private let lowercasedHash: UInt64

    /// The host of a raw `Host` header value (`Example.COM:8080`, `[::1]:8080`, `[::1]`), or nil
    /// when nothing usable is left (such a request matches only routes without `host:`).
    init?(headerValue: Substring) {
        let bytes = headerValue.utf8
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, bytes[start] == .space || bytes[start] == .tab { bytes.formIndex(after: &start) }
        while start < end, bytes[bytes.index(before: end)] == .space || bytes[bytes.index(before: end)] == .tab {
            bytes.formIndex(before: &end)
        }
        guard start < end else { return nil }

        if bytes[start] == .openBracket {
            // An IPv6 literal keeps its brackets; whatever follows `]` is the port.
            guard let close = bytes[start..<end].firstIndex(of: .closeBracket) else { return nil }
            end = bytes.index(after: close)
        } else if let colon = bytes[start..<end].firstIndex(of: .colon) {
            end = colon
        }
        if start < end, bytes[bytes.index(before: end)] == .dot { bytes.formIndex(before: &end) }
        guard start < end else { return nil }
        self.init(text: Substring(bytes[start..<end]))
    }

    /// The host of a route's `host:` setting. A bare IPv6 literal (`::1`) gets the brackets a
    /// `Host` header always carries; anything else is read like a header value.
    init?(configured: String) {
        let colons = configured.utf8.reduce(0) { $0 + ($1 == .colon ? 1 : 0) }
        if colons > 1, configured.utf8.first != .openBracket {
            self.init(headerValue: "[\(configured)]"[...])
        } else {
            self.init(headerValue: configured[...])
        }
    }

    private init(text: Substring) {
        var hash = RouteKeyHash.seed
        for byte in text.utf8 { hash = RouteKeyHash.adding(Self.lowercaseASCII(byte), to: hash) }
        self.text = text
        self.lowercasedHash = hash
    }

    static func == (lhs: RouteHost, rhs: RouteHost) -> Bool {
        lhs.lowercasedHash == rhs.lowercasedHash
            && lhs.text.utf8.elementsEqual(rhs.text.utf8) { lowercaseASCII($0) == lowercaseASCII($1) }
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(lowercasedHash)
    }

    @inline(__always)
    private static func lowercaseASCII(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}

extension UInt8 {
    fileprivate static let space = UInt8(ascii: " ")
    fileprivate static let tab = UInt8(ascii: "\t")
    fileprivate static let colon = UInt8(ascii: ":")
    fileprivate static let dot = UInt8(ascii: ".")
    fileprivate static let openBracket = UInt8(ascii: "[")
    fileprivate static let closeBracket = UInt8(ascii: "]")
}
