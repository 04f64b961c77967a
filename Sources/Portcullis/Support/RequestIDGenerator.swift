/// Request ids for one event loop: 128 bits from xoshiro256** seeded once from the system's
/// random source, as 32 lowercase hex digits.
///
/// Ids only need to be unique and unguessable enough not to collide, not secret: nothing is
/// authorized by one. Drawing them from the system generator cost two `getrandom` calls per
/// request. Not thread-safe: one per loop.
struct RequestIDGenerator {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init() {
        var system = SystemRandomNumberGenerator()
        var seed: (UInt64, UInt64, UInt64, UInt64)
        repeat {
            seed = (system.next(), system.next(), system.next(), system.next())
        } while seed == (0, 0, 0, 0)  // the one state xoshiro cannot leave
        state = seed
    }

    /// xoshiro256** (Blackman and Vigna).
    mutating func next() -> UInt64 {
        let result = (state.1 &* 5).rotatedLeft(by: 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3.rotatedLeft(by: 45)
        return result
    }

    mutating func make() -> String {
        let high = next()
        let low = next()
        return String(unsafeUninitializedCapacity: 32) { buffer in
            for index in 0..<16 {
                let shift = UInt64(60 - 4 * index)
                buffer[index] = Self.hexDigit(UInt8(truncatingIfNeeded: high >> shift) & 0xF)
                buffer[16 + index] = Self.hexDigit(UInt8(truncatingIfNeeded: low >> shift) & 0xF)
            }
            return 32
        }
    }

    @inline(__always)
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x57 + nibble  // "0"-"9", "a"-"f"
    }
}

extension UInt64 {
    @inline(__always)
    fileprivate func rotatedLeft(by count: UInt64) -> UInt64 {
        (self << count) | (self >> (64 - count))
    }
}
