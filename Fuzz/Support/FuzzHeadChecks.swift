import NIOCore
import Portcullis

/// What every head the gateway writes must be, whichever way it goes: CRLF line endings only
/// (no bare CR or LF, so nothing can be injected into a line), no NUL, and ending at its first
/// empty line. `side` names the head in the failure ("upstream", "client").
package func requireWellFormedHead(_ out: ByteBuffer, side: String) {
    let bytes = Array(out.readableBytesView)
    precondition(!bytes.contains(0), "NUL in the \(side) head")
    for (index, byte) in bytes.enumerated() {
        if byte == 0x0D { precondition(index + 1 < bytes.count && bytes[index + 1] == 0x0A, "bare CR in the \(side) head") }
        if byte == 0x0A { precondition(index > 0 && bytes[index - 1] == 0x0D, "bare LF in the \(side) head") }
    }
    var scanner = HeadScanner()
    precondition(
        scanner.scan(out, limit: .max) == .complete(length: out.readableBytes),
        "the \(side) head does not end at its first empty line")
}
