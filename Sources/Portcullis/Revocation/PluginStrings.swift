import CPortcullisPlugin

extension String {
    /// Lends the string's UTF-8 bytes to a plugin call as a `pc_str`.
    func withPluginString<Result>(_ body: (pc_str) -> Result) -> Result {
        var text = self
        return text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                body(pc_str(ptr: chars.baseAddress, len: chars.count))
            }
        }
    }
}

extension RevocationToken {
    static let absentTime = Int64.min

    /// Lends the token to a plugin call as a `pc_token`.
    func withPluginToken<Result>(_ body: (UnsafePointer<pc_token>) -> Result) -> Result {
        jti.withPluginString { jti in
            func call(_ sub: pc_str) -> Result {
                var token = pc_token(
                    jti: jti, sub: sub, iat: issuedAt ?? Self.absentTime, exp: expiresAt ?? Self.absentTime
                )
                return withUnsafePointer(to: &token, body)
            }
            guard let subject else { return call(pc_str(ptr: nil, len: 0)) }
            return subject.withPluginString(call)
        }
    }

    /// Lends many tokens at once: their strings are packed into one buffer that outlives
    /// the call, and the `pc_token`s point into it.
    static func withPluginTokens<Result>(
        _ tokens: [RevocationToken], _ body: (UnsafeBufferPointer<pc_token>) -> Result
    ) -> Result {
        var bytes: [UInt8] = []
        var spans: [(jti: Range<Int>, sub: Range<Int>?)] = []
        spans.reserveCapacity(tokens.count)
        for token in tokens {
            let jtiStart = bytes.count
            bytes.append(contentsOf: token.jti.utf8)
            let jti = jtiStart..<bytes.count
            var sub: Range<Int>?
            if let subject = token.subject {
                let subStart = bytes.count
                bytes.append(contentsOf: subject.utf8)
                sub = subStart..<bytes.count
            }
            spans.append((jti, sub))
        }
        bytes.append(0)  // never empty, so the buffer always has a base address
        return bytes.withUnsafeBufferPointer { storage in
            let base = UnsafeRawPointer(storage.baseAddress!).assumingMemoryBound(to: CChar.self)  // non-empty
            func slice(_ range: Range<Int>) -> pc_str {
                pc_str(ptr: base + range.lowerBound, len: range.count)
            }
            var plugged: [pc_token] = []
            plugged.reserveCapacity(tokens.count)
            for (token, span) in zip(tokens, spans) {
                plugged.append(
                    pc_token(
                        jti: slice(span.jti), sub: span.sub.map(slice) ?? pc_str(ptr: nil, len: 0),
                        iat: token.issuedAt ?? absentTime, exp: token.expiresAt ?? absentTime
                    )
                )
            }
            return plugged.withUnsafeBufferPointer(body)
        }
    }
}
