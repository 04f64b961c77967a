import Testing

@testable import Portcullis

@Suite("Request ids")
struct RequestIDGeneratorTests {
    @Test("32 lowercase hex digits, no repeats over 100000, and two loops' generators differ")
    func shapeAndUniqueness() {
        var generator = RequestIDGenerator()
        var seen = Set<String>()
        for _ in 0..<100_000 {
            let id = generator.make()
            #expect(id.utf8.count == 32)
            #expect(id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
            seen.insert(id)
        }
        #expect(seen.count == 100_000)
        var other = RequestIDGenerator()
        #expect(other.make() != generator.make())
    }

    @Test("every hex digit appears in every position (the nibbles are all used)")
    func everyDigitEverywhere() {
        var generator = RequestIDGenerator()
        var digits = Array(repeating: Set<UInt8>(), count: 32)
        for _ in 0..<2_000 {
            for (position, byte) in generator.make().utf8.enumerated() { digits[position].insert(byte) }
        }
        #expect(digits.allSatisfy { $0.count == 16 })
    }
}
