import NIOCore

/// Decodes `Transfer-Encoding: chunked` framing strictly (RFC 9112 section 7.1), as bytes
/// arrive, without copying chunk data: `.data` events are slices of the input.
///
/// Refused: a size that is not hex or over 2^48, control bytes in an extension, any line
/// ending but CRLF, data not followed by CRLF, a trailer line that is not `name: value`,
/// trailers over 16 KiB. Trailers are checked and dropped, never forwarded.
package struct ChunkedDecoder: Sendable {
    package struct FramingError: Error, Equatable {
        var reason: String
    }

    enum Event: Equatable {
        case data(ByteBuffer)
        /// The last chunk and trailers are complete; bytes after it belong to the next message.
        case end
        case needMore
    }

    private enum State: Equatable {
        case size(value: Int, digits: Int)
        case extensionBytes(value: Int, length: Int)
        case sizeLineFeed(value: Int)
        case data(remaining: Int)
        case dataCarriageReturn
        case dataLineFeed
        /// At the start of a trailer line (or the final empty line).
        case trailerLineStart
        /// In a trailer field name; a line without a colon is refused.
        case trailerName
        /// After the colon of a trailer line.
        case trailerLine
        case trailerLineFeed(emptyLine: Bool)
        case done
    }

    private var state = State.size(value: 0, digits: 0)
    private var trailerBytes = 0
    private static let maxChunkSize = 1 << 48
    private static let maxExtensionBytes = 4096
    private static let maxTrailerBytes = 16384

    package init() {}

    var isDone: Bool { state == .done }

    /// For a body passed on as it arrives (an upstream's chunked response): how many of
    /// `buffer`'s readable bytes belong to the body, and whether it ends within them. Reads
    /// nothing off `buffer`; bytes after the end belong to the next message.
    package mutating func measure(_ buffer: ByteBuffer) throws(FramingError) -> (length: Int, ended: Bool) {
        var rest = buffer
        while true {
            switch try next(&rest) {
            case .data: continue
            case .needMore: return (rest.readerIndex - buffer.readerIndex, false)
            case .end: return (rest.readerIndex - buffer.readerIndex, true)
            }
        }
    }

    /// Consumes framing bytes from `buffer` and returns the next event.
    mutating func next(_ buffer: inout ByteBuffer) throws(FramingError) -> Event {
        while true {
            if case .data(let remaining) = state {
                guard buffer.readableBytes > 0 else { return .needMore }
                let count = min(remaining, buffer.readableBytes)
                let slice = buffer.readSlice(length: count)!  // count <= readableBytes
                state = remaining == count ? .dataCarriageReturn : .data(remaining: remaining - count)
                return .data(slice)
            }
            if state == .done { return .end }
            guard let byte = buffer.readInteger(as: UInt8.self) else { return .needMore }
            try step(byte)
            if state == .done { return .end }
        }
    }

    private mutating func step(_ byte: UInt8) throws(FramingError) {
        switch state {
        case .size(let value, let digits):
            if let digit = Self.hexValue(byte) {
                let next = value << 4 | digit
                guard digits < 12, next <= Self.maxChunkSize else { throw FramingError(reason: "chunk size too large") }
                state = .size(value: next, digits: digits + 1)
            } else if digits > 0, byte == UInt8(ascii: ";") {
                state = .extensionBytes(value: value, length: 0)
            } else if digits > 0, byte == 0x0D {
                state = .sizeLineFeed(value: value)
            } else {
                throw FramingError(reason: "invalid chunk size")
            }
        case .extensionBytes(let value, let length):
            if byte == 0x0D {
                state = .sizeLineFeed(value: value)
            } else {
                guard HeaderNames.isValueByte(byte), length < Self.maxExtensionBytes else {
                    throw FramingError(reason: "invalid chunk extension")
                }
                state = .extensionBytes(value: value, length: length + 1)
            }
        case .sizeLineFeed(let value):
            guard byte == 0x0A else { throw FramingError(reason: "chunk size line not ended by CRLF") }
            state = value == 0 ? .trailerLineStart : .data(remaining: value)
        case .dataCarriageReturn:
            guard byte == 0x0D else { throw FramingError(reason: "chunk data not followed by CRLF") }
            state = .dataLineFeed
        case .dataLineFeed:
            guard byte == 0x0A else { throw FramingError(reason: "chunk data not followed by CRLF") }
            state = .size(value: 0, digits: 0)
        case .trailerLineStart:
            try countTrailerByte()
            if byte == 0x0D {
                state = .trailerLineFeed(emptyLine: true)
            } else {
                guard HeaderNames.isToken(byte) else { throw FramingError(reason: "invalid trailer") }
                state = .trailerName
            }
        case .trailerName:
            try countTrailerByte()
            if byte == UInt8(ascii: ":") {
                state = .trailerLine
            } else {
                guard HeaderNames.isToken(byte) else { throw FramingError(reason: "invalid trailer") }
            }
        case .trailerLine:
            try countTrailerByte()
            if byte == 0x0D {
                state = .trailerLineFeed(emptyLine: false)
            } else {
                guard HeaderNames.isValueByte(byte) else { throw FramingError(reason: "invalid trailer") }
            }
        case .trailerLineFeed(let emptyLine):
            guard byte == 0x0A else { throw FramingError(reason: "trailer line not ended by CRLF") }
            state = emptyLine ? .done : .trailerLineStart
        case .data, .done:
            preconditionFailure("handled in next(_:)")
        }
    }

    private mutating func countTrailerByte() throws(FramingError) {
        trailerBytes += 1
        guard trailerBytes <= Self.maxTrailerBytes else { throw FramingError(reason: "trailers too large") }
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}
