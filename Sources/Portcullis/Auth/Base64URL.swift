/// Base64 encoding and strict decoding (RFC 4648) for JWS segments, JWK members and PEM bodies.
///
/// Decoding is strict: characters outside the alphabet, impossible lengths and non-zero
/// trailing bits are refused, so every byte string has exactly one accepted spelling.
public enum Base64URL {
    /// Which of the two RFC 4648 alphabets.
    enum Alphabet {
        /// `-` and `_` (§5), used by JOSE.
        case url
        /// `+` and `/` (§4), used by PEM.
        case standard
    }

    private static let urlSymbols = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static let urlTable: [UInt8] = table(for: urlSymbols)
    private static let standardTable: [UInt8] = table(
        for: Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8))

    private static func table(for symbols: [UInt8]) -> [UInt8] {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, symbol) in symbols.enumerated() { table[Int(symbol)] = UInt8(value) }
        return table
    }

    /// base64url without padding, as JWS uses it.
    public static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = second == nil ? nil : iterator.next()
            let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            out.append(urlSymbols[Int(group >> 18 & 0x3F)])
            out.append(urlSymbols[Int(group >> 12 & 0x3F)])
            if second != nil { out.append(urlSymbols[Int(group >> 6 & 0x3F)]) }
            if third != nil { out.append(urlSymbols[Int(group & 0x3F)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes unpadded base64url; `nil` on any deviation (padding, foreign characters, bad length).
    public static func decode<Bytes: BidirectionalCollection<UInt8>>(_ text: Bytes) -> [UInt8]? {
        decode(text, alphabet: .url, allowPadding: false)
    }

    /// Decodes `text` in `alphabet`; trailing `=` padding is accepted (but not required) when
    /// `allowPadding` is set, and must then be complete.
    static func decode<Bytes: BidirectionalCollection<UInt8>>(
        _ text: Bytes, alphabet: Alphabet, allowPadding: Bool
    ) -> [UInt8]? {
        let table = alphabet == .url ? urlTable : standardTable
        var symbols = text[...]
        if allowPadding, symbols.last == UInt8(ascii: "=") {
            guard text.count % 4 == 0 else { return nil }
            symbols = symbols.dropLast()
            if symbols.last == UInt8(ascii: "=") { symbols = symbols.dropLast() }
        }
        let count = symbols.count
        guard count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits: UInt32 = 0
        for symbol in symbols {
            let value = table[Int(symbol)]
            guard value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> bits))
                accumulator &= (1 << bits) - 1
            }
        }
        // Leftover bits must be zero: a non-canonical spelling is refused.
        guard accumulator == 0 else { return nil }
        return out
    }
}
