import NIOCore

/// Collects a request body the gateway reads itself (`/logout`), sized or chunked, up to a
/// limit. Only small bodies are read this way; proxied bodies are streamed.
struct BoundedBody {
    enum Progress: Equatable {
        case needMore
        case complete([UInt8])
        case tooLarge
        case malformed
    }

    private enum Framing {
        case sized(remaining: Int)
        case chunked(ChunkedDecoder)
    }

    private var framing: Framing
    private var collected: [UInt8] = []
    private let limit: Int

    /// `nil` when the framing already tells the body is over `limit`.
    init?(framing: BodyFraming, limit: Int) {
        self.limit = limit
        switch framing {
        case .none, .untilClose: self.framing = .sized(remaining: 0)
        case .contentLength(let length):
            guard length <= limit else { return nil }
            self.framing = .sized(remaining: length)
        case .chunked: self.framing = .chunked(ChunkedDecoder())
        }
    }

    /// Consumes what belongs to the body from `input`; bytes after it stay there.
    mutating func feed(_ input: inout ByteBuffer) -> Progress {
        switch framing {
        case .sized(let remaining):
            let count = min(remaining, input.readableBytes)
            collected += input.readBytes(length: count) ?? []
            framing = .sized(remaining: remaining - count)
            return remaining == count ? .complete(collected) : .needMore
        case .chunked(var decoder):
            defer { framing = .chunked(decoder) }
            while true {
                let event: ChunkedDecoder.Event
                do {
                    event = try decoder.next(&input)
                } catch {
                    return .malformed
                }
                switch event {
                case .needMore: return .needMore
                case .end: return .complete(collected)
                case .data(let slice):
                    guard collected.count + slice.readableBytes <= limit else { return .tooLarge }
                    collected += slice.readableBytesView
                }
            }
        }
    }
}
