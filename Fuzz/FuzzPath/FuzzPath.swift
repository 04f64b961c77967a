import Portcullis
import PortcullisFuzzSupport

/// `PathNormalizer` on arbitrary bytes, checking what a route rule relies on: an accepted path
/// is canonical (starts with `/`, no `//`, no `.` or `..` segment, only bytes a path may carry
/// raw, every `%` a valid uppercase escape), so it cannot escape the root, and normalizing it
/// again gives it back unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeBufferPointer(start: data, count: size)
    guard let path = PathNormalizer.normalize(raw) else { return 0 }
    let bytes = Array(path.utf8)
    precondition(bytes.first == UInt8(ascii: "/"), "does not start at the root: \(path)")
    precondition(!path.contains("//"), "keeps an empty segment: \(path)")
    let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
    precondition(!segments.contains { $0 == "." || $0 == ".." }, "keeps a dot segment: \(path)")
    precondition(!path.contains("/./") && !path.contains("/../"), "keeps a dot segment: \(path)")
    precondition(isCanonical(bytes), "not canonical: \(path)")
    precondition(PathNormalizer.normalize(path.utf8) == path, "normalizing again changes \(path)")
    return 0
}

/// The RFC 3986 byte classes, written out here rather than taken from `PathNormalizer`, so the
/// check does not share a mistake with the code it checks.
private let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
/// `pchar` without `%` (sub-delims, `:`, `@`), plus the `[` and `]` the normalizer documents.
private let allowedRaw = unreserved.union("!$&'()*+,;=:@[]".utf8)

/// Raw path bytes only, and every escape is `%` and two uppercase hex digits of a byte that
/// must stay escaped (not unreserved, not `/`, `\` or NUL).
private func isCanonical(_ bytes: [UInt8]) -> Bool {
    var index = 0
    while index < bytes.count {
        let byte = bytes[index]
        if byte == UInt8(ascii: "%") {
            guard index + 2 < bytes.count, let high = upperHex(bytes[index + 1]), let low = upperHex(bytes[index + 2])
            else { return false }
            let decoded = high << 4 | low
            if unreserved.contains(decoded) || [0x00, 0x2F, 0x5C].contains(decoded) { return false }
            index += 3
        } else {
            guard byte == UInt8(ascii: "/") || allowedRaw.contains(byte) else { return false }
            index += 1
        }
    }
    return true
}

private func upperHex(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// The program's entry point (see `FuzzDriver`).
@_cdecl("FuzzPath_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzz)
}
