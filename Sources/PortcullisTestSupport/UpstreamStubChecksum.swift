/// FNV-1a (64-bit) over a stream of bytes: what `UpstreamStub` records for every request body,
/// so a test can check that the gateway forwarded the exact bytes without the stub keeping them.
///
/// Not a cryptographic hash; it only has to catch a dropped, duplicated or reordered chunk.
public struct FNV1a64: Sendable, Hashable {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    /// The checksum of everything fed so far (`offsetBasis` for nothing).
    public private(set) var value: UInt64

    public init(seed: UInt64 = FNV1a64.offsetBasis) {
        value = seed
    }

    public mutating func update(_ bytes: some Sequence<UInt8>) {
        var hash = value
        // Contiguous input takes a raw loop: the stub runs on a shared event loop in debug tests.
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            for byte in buffer { hash = (hash ^ UInt64(byte)) &* Self.prime }
        }
        if done == nil {
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* Self.prime }
        }
        value = hash
    }
}

/// The FNV-1a 64 checksum of `bytes`, continuing from `seed` (a previous checksum) when given.
public func fnv1a64(_ bytes: some Sequence<UInt8>, seed: UInt64 = FNV1a64.offsetBasis) -> UInt64 {
    var checksum = FNV1a64(seed: seed)
    checksum.update(bytes)
    return checksum.value
}

extension UpstreamStub {
    /// Byte `i` of a `.stream(bytes:)` body: `i % 251` (a prime, so the pattern does not line up
    /// with any power-of-two chunk size and a misplaced chunk changes the checksum).
    public static func streamByte(at offset: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: offset % 251)
    }

    /// The FNV-1a 64 checksum of a `.stream(bytes: count)` body, computed without materializing it.
    public static func streamChecksum(count: Int) -> UInt64 {
        fnv1a64((0..<count).lazy.map(streamByte(at:)))
    }
}
