import NIOCore

/// Finds the end of an HTTP/1 head (`CRLFCRLF`) as bytes arrive, without rescanning what it
/// has already checked, so a client sending one byte at a time costs linear work.
///
/// A bare LF anywhere in the head is an error (request smuggling defence: no line ending
/// other than CRLF is ever accepted).
package struct HeadScanner: Sendable {
    package enum Outcome: Equatable {
        case needMore
        /// The head is the first `length` readable bytes.
        case complete(length: Int)
        case bareLineFeed
        case tooLarge
    }

    private var scanned = 0

    package init() {}

    mutating func reset() {
        scanned = 0
    }

    package mutating func scan(_ buffer: ByteBuffer, limit: Int) -> Outcome {
        buffer.withUnsafeReadableBytes { bytes in
            var index = scanned
            while index < bytes.count {
                if bytes[index] == 0x0A {
                    guard index > 0, bytes[index - 1] == 0x0D else { return .bareLineFeed }
                    if index >= 3, bytes[index - 2] == 0x0A, bytes[index - 3] == 0x0D {
                        guard index + 1 <= limit else { return .tooLarge }
                        return .complete(length: index + 1)
                    }
                }
                index += 1
            }
            scanned = index
            return bytes.count > limit ? .tooLarge : .needMore
        }
    }
}
