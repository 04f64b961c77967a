// Build fix, not auth logic: `Support/JSONValue.swift` (shared contract, not ours to edit) calls
// `StaticString.utf8CodeUnitsCount`, which does not exist (the standard library spells it
// `utf8CodeUnitCount`). The config branch carries the same shim: keep only one when merging,
// and delete both once JSONValue.swift is corrected.
extension StaticString {
    var utf8CodeUnitsCount: Int { utf8CodeUnitCount }
}
