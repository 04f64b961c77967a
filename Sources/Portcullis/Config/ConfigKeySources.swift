import Foundation

/// `jwt.issuers[].keys[]`: exactly one key source per entry, with file sources read here.
extension ConfigLoader {
    static let keySourceKinds = ["jwks_url", "jwks_file", "public_key_file", "secret", "secret_base64", "private_key_file"]

    static func decodeKeySources(_ node: ConfigNode) -> [KeySourceSettings]? {
        guard let elements = node.sequence() else { return nil }
        guard !elements.isEmpty else {
            node.error("at least one key source is required")
            return nil
        }
        let sources = elements.map(decodeKeySource)
        return sources.contains(where: { $0 == nil }) ? nil : sources.compactMap { $0 }
    }

    private static func decodeKeySource(_ node: ConfigNode) -> KeySourceSettings? {
        guard let entry = node.mapping(keys: keySourceKinds + ["refresh", "kid"]) else { return nil }
        let kinds = entry.present(keySourceKinds)
        guard let kind = kinds.first else {
            node.error("expected one of \(keySourceKinds.joined(separator: ", "))")
            return nil
        }
        guard kinds.count == 1 else {
            entry.keyError(kinds[1], "only one key source per entry (this one also has '\(kind)'); use another list item")
            return nil
        }
        if entry.contains("refresh"), kind != "jwks_url" {
            entry.keyError("refresh", "'refresh' is only valid with jwks_url")
        }
        if entry.contains("kid"), kind != "public_key_file", kind != "private_key_file" {
            entry.keyError("kid", "'kid' is only valid with public_key_file or private_key_file")
        }
        guard let value = entry.required(kind) else { return nil }
        let kid = entry["kid"]?.nonEmptyString()

        let decoded: KeySourceSettings.Kind?
        switch kind {
        case "jwks_url":
            let refresh = entry["refresh"].map { $0.duration() } ?? .seconds(600)
            decoded = value.httpURL().flatMap { url in refresh.map { .jwksURL(url: url, refresh: $0) } }
        case "jwks_file":
            decoded = value.fileContents().map { .jwksFile(path: $0.path, contents: $0.bytes) }
        case "public_key_file":
            decoded = value.pemFile().map { .publicKeyFile(path: $0.path, pem: $0.pem, kid: kid) }
        case "private_key_file":
            decoded = value.pemFile().map { .privateKeyFile(path: $0.path, pem: $0.pem, kid: kid) }
        case "secret":
            decoded = value.nonEmptyString().map { .secret(bytes: Array($0.utf8)) }
        default:
            decoded = value.base64Secret().map { .secret(bytes: $0) }
        }
        guard let decoded else { return nil }
        return KeySourceSettings(kind: decoded, location: value.location)
    }
}

extension ConfigNode {
    /// An `http://` or `https://` URL with a host (checked lexically; fetched at runtime).
    func httpURL() -> String? {
        guard let text = nonEmptyString() else { return nil }
        let lower = text.lowercased()
        let rest = lower.hasPrefix("https://") ? lower.dropFirst(8) : lower.hasPrefix("http://") ? lower.dropFirst(7) : nil
        guard let rest, let first = rest.first, first != "/", !text.contains(where: \.isWhitespace) else {
            error("expected an http:// or https:// URL, got \(Self.quoted(text))")
            return nil
        }
        return text
    }

    /// A text (PEM) file, read whole.
    func pemFile() -> (path: String, pem: String)? {
        guard let file = fileContents() else { return nil }
        guard let pem = String(validating: file.bytes, as: UTF8.self) else {
            error("'\(file.path)' is not a PEM text file")
            return nil
        }
        return (file.path, pem)
    }

    /// Base64 in the standard or URL-safe alphabet, padding optional; must decode to some bytes.
    func base64Secret() -> [UInt8]? {
        guard let text = nonEmptyString() else { return nil }
        guard let bytes = Self.decodeBase64(text) else {
            error("not valid base64 (standard or URL-safe alphabet)")
            return nil
        }
        guard !bytes.isEmpty else {
            error("must not be empty")
            return nil
        }
        return bytes
    }

    static func decodeBase64(_ text: String) -> [UInt8]? {
        var body = Substring(text)
        while body.hasSuffix("=") { body = body.dropLast() }
        let padding = text.count - body.count
        // Foundation's decoder tolerates a `=` inside the text, so the alphabet is checked here.
        let alphabet = body.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "-"),
                UInt8(ascii: "_"):
                return true
            default:
                return false
            }
        }
        guard alphabet, padding <= 2, body.count % 4 != 1 else { return nil }
        if padding > 0, (body.count + padding) % 4 != 0 { return nil }
        var normalized = String(body.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        normalized += String(repeating: "=", count: (4 - normalized.count % 4) % 4)
        return Data(base64Encoded: normalized).map(Array.init)
    }
}
