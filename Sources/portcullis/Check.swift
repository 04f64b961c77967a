import ArgumentParser
import Portcullis

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate the config and its keys, and print the route table."
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let runtime = try options.loadRuntime()
        print(RouteTableReport(runtime.config).render())
    }
}
