import Foundation

/// The plugin libraries `swift build` put next to the test binary.
public enum BuiltPlugins {
    /// The folder of the running executable (`.build/<configuration>/`), where SwiftPM
    /// writes the `libportcullis_*.so` products.
    public static let directory: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }()

    /// The absolute path of `libportcullis_<name>.so`.
    public static func path(of name: String) -> String {
        "\(directory)/libportcullis_\(name).so"
    }
}
