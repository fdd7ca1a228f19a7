import ArgumentParser
import HashIdx

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@main
struct HashIdxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hashidx",
        abstract: "Approximate nearest-neighbour search over embeddings with learned binary codes.",
        discussion: """
        Build an index from a vectors file, then ask it for the items most similar
        to a vector or to an item it holds.

          hashidx build Data/glove-20k.npy --ids Data/glove-20k.txt -o words.hidx
          hashidx query words.hidx --id king --k 10
          hashidx info words.hidx
          hashidx serve words.hidx --port 8080
        """,
        subcommands: [Build.self, Add.self, Delete.self, Compact.self, Query.self, Get.self, Info.self, Eval.self, GroundTruth.self, Cluster.self, Serve.self]
    )
}

/// Runs `body`, turning a HashIdx error into one line on stderr and exit status 1.
func runReportingErrors(_ body: () throws(HashIdxError) -> Void) throws {
    do {
        try body()
    } catch {
        writeStderr("hashidx: error: \(error.description)\n")
        throw ExitCode.failure
    }
}

func writeStderr(_ s: String) { writeAll(s, to: STDERR_FILENO) }

/// Writes `s` to standard output at once (no buffering).
func writeStdout(_ s: String) { writeAll(s, to: STDOUT_FILENO) }

private func writeAll(_ s: String, to fd: Int32) {
    var s = s
    s.withUTF8 { b in
        var done = 0
        while done < b.count {
            let n = write(fd, b.baseAddress! + done, b.count - done)
            if n <= 0 { break }
            done += n
        }
    }
}

/// "1.2 MB" style sizes.
func formatBytes(_ n: Int) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var v = Double(n)
    var u = 0
    while v >= 1000 && u < units.count - 1 { v /= 1000; u += 1 }
    return u == 0 ? "\(n) B" : "\(formatFixed(v, 1)) \(units[u]) (\(n) bytes)"
}

/// `v` with `digits` digits after the point.
func formatFixed(_ v: Double, _ digits: Int) -> String {
    guard v.isFinite else { return String(v) }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(v) * scale).rounded()
    guard scaled < 9e18 else { return String(v) }
    let n = Int64(scaled)
    let whole = n / Int64(scale)
    var frac = String(n % Int64(scale))
    frac = String(repeating: "0", count: max(0, digits - frac.count)) + frac
    let sign = v < 0 && n != 0 ? "-" : ""
    return digits == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(frac)"
}

extension CodecChoice: ExpressibleByArgument {}
extension Rerank: ExpressibleByArgument {}
extension TrainingOptions.Head: ExpressibleByArgument {}

extension VectorType: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "float32", "f32": self = .float32
        case "float16", "f16": self = .float16
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["float32", "float16"] }
}
