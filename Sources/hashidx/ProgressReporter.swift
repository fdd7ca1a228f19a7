import HashIdx

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The progress of every long command, on standard error, through this one reporter: on a
/// terminal a bar per phase with its rate and ETA (redrawn at most ten times a second); in a
/// log or a pipe, plain lines — when a phase starts, at most every ``lineInterval`` seconds
/// while it runs, and when it ends:
///
///     training…
///     training: done in 0.84 s
///     encoding: 0/390000 rows (0%)
///     encoding: 181000/390000 rows (46%), 36200 rows/s, ETA 6 s
///     encoding: 390000/390000 rows (100%), 36900 rows/s, ETA 0 s
///
/// The library reports ``WorkProgress`` from whichever thread does the work; the reporter
/// takes its lock for each report.
final class ProgressReporter: Sendable {
    /// Seconds between two lines of the same phase when standard error is not a terminal.
    static let lineInterval = 5.0

    private struct State {
        var phase: WorkProgress.Phase?
        var phaseStart = 0.0
        var lastDraw = -1.0
        var drewBar = false
        var ended = false
    }

    private let isTerminal: Bool
    private let state = Locked(State())

    /// A reporter drawing a bar when standard error is a terminal, lines otherwise.
    init(terminal: Bool = isatty(STDERR_FILENO) == 1) {
        isTerminal = terminal
    }

    /// What a phase counts.
    private static func unit(_ phase: WorkProgress.Phase) -> String {
        switch phase {
        case .training: "epochs"
        case .encoding: "rows"
        case .reading: "items"
        case .clustering: "rounds"
        case .searching: "queries"
        case .partitioning, .finishing: ""
        }
    }

    /// Shows `p`.
    func report(_ p: WorkProgress) {
        let now = Self.now()
        state.withLock { s in
            if p.phase != s.phase {
                if s.drewBar { writeStderr("\n") }
                s = State(phase: p.phase, phaseStart: now)
            }
            let countable = p.total > 1 && !Self.unit(p.phase).isEmpty
            let finished = p.done >= p.total
            if !countable {
                // A phase without units: its name when it starts, its time when it ends.
                if !finished && s.lastDraw < 0 {
                    writeStderr("\(p.phase.rawValue)…" + (isTerminal ? "" : "\n"))
                    s.lastDraw = now
                    s.drewBar = isTerminal
                } else if finished && !s.ended {
                    let took = "done in \(formatFixed(now - s.phaseStart, 2)) s"
                    writeStderr(isTerminal ? (s.drewBar ? " \(took)\n" : "\(p.phase.rawValue): \(took)\n") : "\(p.phase.rawValue): \(took)\n")
                    s.ended = true
                    s.drewBar = false
                }
                return
            }
            let interval = isTerminal ? 0.1 : Self.lineInterval
            guard s.lastDraw < 0 || now - s.lastDraw >= interval || (finished && !s.ended) else { return }
            s.lastDraw = now
            if finished { s.ended = true }
            let unit = Self.unit(p.phase)
            let elapsed = now - s.phaseStart
            let rate = elapsed > 0 ? Double(p.done) / elapsed : 0
            let eta = rate > 0 ? Double(max(0, p.total - p.done)) / rate : 0
            let percent = Int(p.fraction * 100)
            let speed = p.done > 0 && elapsed > 0 ? ", \(formatFixed(rate, 0)) \(unit)/s, ETA \(formatFixed(eta, 0)) s" : ""
            if isTerminal {
                let width = 30
                let filled = Int(p.fraction * Double(width))
                let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
                writeStderr("\r\(p.phase.rawValue) [\(bar)] \(percent)%  \(p.done)/\(p.total) \(unit)\(speed) ")
                s.drewBar = !finished
                if finished { writeStderr("\n") }
            } else {
                writeStderr("\(p.phase.rawValue): \(p.done)/\(p.total) \(unit) (\(percent)%)\(speed)\n")
            }
        }
    }

    /// Ends a bar left open (call once the command's work is done).
    func finish() {
        state.withLock { s in
            if s.drewBar { writeStderr("\n") }
            s.drewBar = false
        }
    }

    /// Seconds on the monotonic clock.
    static func now() -> Double { System.monotonicSeconds() }
}
