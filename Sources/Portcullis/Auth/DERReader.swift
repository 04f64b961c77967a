/// A minimal DER walker: enough to find the key inside SPKI, PKCS#8, SEC 1 and X.509 structures.
///
/// It never allocates for the elements it reads; each element is a range into the input.
struct DERReader {
    struct Element {
        var tag: UInt8
        /// The content octets.
        var content: ArraySlice<UInt8>
        /// Tag, length and content together.
        var encoded: ArraySlice<UInt8>
    }

    enum Tag {
        static let integer: UInt8 = 0x02
        static let bitString: UInt8 = 0x03
        static let octetString: UInt8 = 0x04
        static let null: UInt8 = 0x05
        static let objectIdentifier: UInt8 = 0x06
        static let sequence: UInt8 = 0x30
        static func contextConstructed(_ number: UInt8) -> UInt8 { 0xA0 | number }
    }

    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { bytes.isEmpty }

    var peekTag: UInt8? { bytes.first }

    /// Reads the next element; `nil` when the input is malformed or exhausted.
    mutating func read() -> Element? {
        guard bytes.count >= 2 else { return nil }
        let start = bytes.startIndex
        let tag = bytes[start]
        // High tag numbers never occur in the structures we read.
        guard tag & 0x1F != 0x1F else { return nil }
        var index = start + 1
        let first = bytes[index]
        index += 1
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let count = Int(first & 0x7F)
            guard count >= 1, count <= 4, bytes.endIndex - index >= count else { return nil }
            for _ in 0..<count {
                length = length << 8 | Int(bytes[index])
                index += 1
            }
        }
        guard bytes.endIndex - index >= length else { return nil }
        let end = index + length
        let element = Element(tag: tag, content: bytes[index..<end], encoded: bytes[start..<end])
        bytes = bytes[end...]
        return element
    }

    /// Reads the next element and requires its tag.
    mutating func read(_ tag: UInt8) -> Element? {
        guard peekTag == tag else { return nil }
        return read()
    }

    /// Enters the next element, which must be a SEQUENCE (or another constructed `tag`).
    mutating func enter(_ tag: UInt8 = Tag.sequence) -> DERReader? {
        read(tag).map { DERReader($0.content) }
    }
}

/// Object identifiers of the key types we read, as DER content octets.
enum KeyOID {
    static let rsaEncryption: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
    static let rsassaPSS: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A]
    static let ecPublicKey: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
    static let p256: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
    static let p384: [UInt8] = [0x2B, 0x81, 0x04, 0x00, 0x22]
    static let ed25519: [UInt8] = [0x2B, 0x65, 0x70]
}
