/// A path (or a prefix of one) as a route-table key, carrying its own hash.
///
/// `RouteTable.match` walks a request path once and keeps a running hash, so every prefix on a
/// segment boundary is looked up with the hash already in hand instead of rehashing the path
/// once per boundary. Equality always compares the bytes: the hash only picks the bucket, so a
/// crafted collision can never route a path to a rule it does not have.
struct RoutePathKey: Hashable, Sendable {
    let text: Substring
    /// `RouteKeyHash` of the bytes of `text`.
    let bytesHash: UInt64

    /// A key for `text`, hashing it.
    init(_ text: Substring) {
        var hash = RouteKeyHash.seed
        for byte in text.utf8 { hash = RouteKeyHash.adding(byte, to: hash) }
        self.init(text, bytesHash: hash)
    }

    /// A key for `text` whose `RouteKeyHash` the caller has already computed.
    init(_ text: Substring, bytesHash: UInt64) {
        self.text = text
        self.bytesHash = bytesHash
    }

    static func == (lhs: RoutePathKey, rhs: RoutePathKey) -> Bool {
        lhs.bytesHash == rhs.bytesHash && lhs.text.utf8.elementsEqual(rhs.text.utf8)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(bytesHash)
    }
}

/// FNV-1a 64, one byte at a time: cheap enough to run over every byte of every request path.
/// Not collision-resistant, and not relied on to be: keys still compare their bytes, and the
/// `Dictionary` seeds its own hash on top.
enum RouteKeyHash {
    static let seed: UInt64 = 0xcbf2_9ce4_8422_2325

    @inline(__always)
    static func adding(_ byte: UInt8, to hash: UInt64) -> UInt64 {
        (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }
}
