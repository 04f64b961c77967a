// Build fix, not routing logic: `Support/JSONValue.swift` (shared contract, not ours to edit) calls
// `StaticString.utf8CodeUnitsCount`, which does not exist (the standard library spells it
// `utf8CodeUnitCount`). The auth and config branches carry the same shim: keep only one when
// merging (two are a redeclaration error), and delete it once JSONValue.swift is corrected.
extension StaticString {
    var utf8CodeUnitsCount: Int { utf8CodeUnitCount }
}
