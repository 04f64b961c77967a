import NIOCore

/// One WebSocket frame (RFC 6455 section 5.2) as a test client writes and reads it, encoded
/// and decoded here by hand so that the tests do not check the gateway with the same
/// library the upstream uses.
public struct WebSocketTestFrame: Sendable, Equatable {
    public static let continuation: UInt8 = 0x0
    public static let text: UInt8 = 0x1
    public static let binary: UInt8 = 0x2
    public static let close: UInt8 = 0x8
    public static let ping: UInt8 = 0x9
    public static let pong: UInt8 = 0xA

    public var fin: Bool
    public var opcode: UInt8
    public var payload: [UInt8]

    public init(opcode: UInt8, payload: [UInt8], fin: Bool = true) {
        self.fin = fin
        self.opcode = opcode
        self.payload = payload
    }

    public init(text: String) {
        self.init(opcode: Self.text, payload: Array(text.utf8))
    }

    public var text: String { String(decoding: payload, as: UTF8.self) }

    /// The frame as a client sends it: masked with a random key.
    public func encodedMasked() -> ByteBuffer {
        var out = ByteBufferAllocator().buffer(capacity: payload.count + 14)
        out.writeInteger((fin ? 0x80 : 0) | opcode)
        let count = payload.count
        if count < 126 {
            out.writeInteger(UInt8(0x80 | count))
        } else if count <= 0xFFFF {
            out.writeInteger(UInt8(0x80 | 126))
            out.writeInteger(UInt16(count))
        } else {
            out.writeInteger(UInt8(0x80 | 127))
            out.writeInteger(UInt64(count))
        }
        let key = (0..<4).map { _ in UInt8.random(in: 0...255) }
        out.writeBytes(key)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            payload.withUnsafeBytes { source in
                for index in 0..<count { raw[index] = source[index] ^ key[index & 3] }
            }
            return count
        }
        return out
    }

    /// Takes one complete frame off the front of `buffer` (masked or not), or leaves it as is.
    public static func parse(_ buffer: inout ByteBuffer) -> WebSocketTestFrame? {
        var peek = buffer
        guard let first = peek.readInteger(as: UInt8.self), let second = peek.readInteger(as: UInt8.self) else { return nil }
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let extended = peek.readInteger(as: UInt16.self) else { return nil }
            length = Int(extended)
        } else if length == 127 {
            guard let extended = peek.readInteger(as: UInt64.self) else { return nil }
            length = Int(extended)
        }
        var key: [UInt8]?
        if second & 0x80 != 0 {
            guard let bytes = peek.readBytes(length: 4) else { return nil }
            key = bytes
        }
        guard var payload = peek.readBytes(length: length) else { return nil }
        if let key {
            for index in payload.indices { payload[index] ^= key[index & 3] }
        }
        buffer = peek
        return WebSocketTestFrame(opcode: first & 0x0F, payload: payload, fin: first & 0x80 != 0)
    }
}
