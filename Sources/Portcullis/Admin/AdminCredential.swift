/// The admin bearer token, compared in constant time so that the time an answer takes says
/// nothing about how much of a guess was right.
struct AdminCredential: Sendable {
    private let expected: [UInt8]

    /// `nil` when `admin.token` is absent or empty: `/admin/*` is then disabled.
    init?(token: String?) {
        guard let token, !token.isEmpty else { return nil }
        self.expected = Array(token.utf8)
    }

    /// Whether an `Authorization` header value is `Bearer <admin.token>` (scheme
    /// case-insensitive, as RFC 7235 says).
    func accepts(authorization: String?) -> Bool {
        guard let authorization else { return Self.matches([], expected) }
        let bytes = Array(authorization.utf8)
        let scheme = Array("bearer ".utf8)
        guard bytes.count >= scheme.count,
            zip(bytes.prefix(scheme.count), scheme).allSatisfy({ ($0 | 0x20) == $1 })
        else { return Self.matches([], expected) }
        var start = scheme.count
        while start < bytes.count, bytes[start] == UInt8(ascii: " ") { start += 1 }
        return Self.matches(bytes[start...], expected)
    }

    /// Compares every byte of `expected` whatever the content: a candidate of another length
    /// is replaced by `expected` itself (and fails on the length), so neither the length nor
    /// the first differing byte ends the loop early.
    @inline(never)
    static func matches<Candidate: Collection<UInt8>>(_ candidate: Candidate, _ expected: [UInt8]) -> Bool {
        let sameLength = candidate.count == expected.count
        let compared = sameLength ? Array(candidate) : expected
        var difference: UInt8 = sameLength ? 0 : 1
        for index in expected.indices {
            difference |= compared[index] ^ expected[index]
        }
        return difference == 0
    }
}
