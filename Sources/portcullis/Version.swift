import ArgumentParser
import Portcullis

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version and the plugin ABI version.")

    func run() {
        print("portcullis \(PortcullisVersion.current) (plugin ABI \(PortcullisVersion.pluginABI))")
    }
}
