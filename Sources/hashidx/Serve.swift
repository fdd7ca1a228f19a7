import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `hashidx serve …`: runs `hashidx-serve …`, the HTTP server that the Server package builds,
/// in this process's place (the same arguments, standard streams, process id and signals).
///
/// The server is a program of its own so that building hashidx, or depending on the
/// library, never compiles SwiftNIO and Hummingbird. It is looked for in `$HASHIDX_SERVE`
/// (a path), next to this hashidx, then on `PATH`.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve an index over HTTP/JSON (runs hashidx-serve; hashidx serve --help for its options).",
        discussion: """
        The server is built apart, with its HTTP stack (docs/SERVER.md):

          swift build -c release --package-path Server
          cp Server/.build/release/hashidx-serve .build/release/    # next to hashidx, or on PATH

          hashidx serve shop.hidx --port 8080 --token-file token.txt

        hashidx looks for hashidx-serve in $HASHIDX_SERVE, next to itself, then on PATH.
        """
    )

    /// The environment variable naming the server program.
    static let environmentVariable = "HASHIDX_SERVE"
    /// The server program's name.
    static let programName = "hashidx-serve"

    @Argument(parsing: .captureForPassthrough, help: "The index directory and the server's options (hashidx serve --help).")
    var arguments: [String] = []

    func run() throws {
        guard let program = Self.locate() else {
            writeStderr("""
            hashidx: error: hashidx serve runs \(Self.programName), which was not found ($\(Self.environmentVariable), \
            next to \(Self.ownPath() ?? "hashidx"), PATH). Build it with: swift build -c release --package-path Server; \
            then copy Server/.build/release/\(Self.programName) next to hashidx or onto PATH, or set \(Self.environmentVariable) \
            to its path.

            """)
            throw ExitCode.failure
        }
        let argv = [program] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        execv(program, &cArguments)
        // Only on failure.
        let reason = String(cString: strerror(errno))
        writeStderr("hashidx: error: cannot run \(program): \(reason)\n")
        throw ExitCode.failure
    }

    /// Where `hashidx-serve` is, or `nil`.
    static func locate() -> String? {
        let environment = ProcessInfo.processInfo.environment
        if let named = environment[environmentVariable], !named.isEmpty {
            return isExecutable(named) ? named : nil
        }
        if let own = ownPath() {
            let beside = URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent(programName).path
            if isExecutable(beside) { return beside }
        }
        for folder in (environment["PATH"] ?? "").split(separator: ":") where !folder.isEmpty {
            let candidate = String(folder) + "/" + programName
            if isExecutable(candidate) { return candidate }
        }
        return nil
    }

    /// This executable's path (symbolic links resolved), or `nil` when unknown.
    static func ownPath() -> String? {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        #endif
        guard let first = CommandLine.arguments.first, first.contains("/") else { return nil }
        return URL(fileURLWithPath: first).resolvingSymlinksInPath().path
    }

    private static func isExecutable(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            && access(path, X_OK) == 0
    }
}
