// Build fix, not config logic: `Support/JSONValue.swift` (shared contract, not ours to edit) calls
// `StaticString.utf8CodeUnitsCount`, which does not exist (the standard library spells it
// `utf8CodeUnitCount`), so the module does not compile without this. Delete this file once
// JSONValue.swift is corrected.
extension StaticString {
    var utf8CodeUnitsCount: Int { utf8CodeUnitCount }
}
