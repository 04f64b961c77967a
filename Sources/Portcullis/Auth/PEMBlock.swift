/// One `-----BEGIN LABEL-----` … `-----END LABEL-----` block of a PEM file (RFC 7468).
struct PEMBlock {
    var label: String
    var der: [UInt8]

    /// Every block in `text`, in order. Text between blocks is ignored (as OpenSSL does);
    /// a block with a bad body or a mismatched END line is an error.
    static func parseAll(_ text: String) throws(KeyParseError) -> [PEMBlock] {
        var blocks: [PEMBlock] = []
        var label: String?
        var body: [UInt8] = []
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingWhitespace()
            if let current = label {
                if let end = line.pemBoundary(kind: "END") {
                    guard end == current else {
                        throw KeyParseError("the PEM block \(current) ends with END \(end)")
                    }
                    guard let der = Base64URL.decode(body, alphabet: .standard, allowPadding: true), !der.isEmpty else {
                        throw KeyParseError("the PEM block \(current) has an invalid base64 body")
                    }
                    blocks.append(PEMBlock(label: current, der: der))
                    label = nil
                    body.removeAll()
                } else if line.contains(":") {
                    // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`) mean an encrypted legacy key.
                    throw KeyParseError("encrypted PEM keys are not supported")
                } else {
                    body.append(contentsOf: line.utf8)
                }
            } else if let begin = line.pemBoundary(kind: "BEGIN") {
                label = begin
            }
        }
        if let label { throw KeyParseError("the PEM block \(label) has no END line") }
        return blocks
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first.isWhitespace { result.removeFirst() }
        while let last = result.last, last.isWhitespace { result.removeLast() }
        return result
    }

    /// The label of a `-----BEGIN X-----` / `-----END X-----` line.
    fileprivate func pemBoundary(kind: String) -> String? {
        let prefix = "-----\(kind) "
        guard hasPrefix(prefix), hasSuffix("-----"), count >= prefix.count + 5 else { return nil }
        return String(dropFirst(prefix.count).dropLast(5))
    }
}

/// A key file or JWKS that cannot be used; the message names what is wrong, never secret bytes.
public struct KeyParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
