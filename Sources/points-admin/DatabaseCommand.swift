import ArgumentParser
import PointsLedger

struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Apply and list the ledger's schema migrations.",
        subcommands: [Migrate.self, Status.self])

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply pending migrations in order and re-create the functions if anything changed, in one transaction.",
            discussion: "Role names are chosen at the first migration and cannot change afterwards.")

        @OptionGroup var options: GlobalOptions
        @Option(help: ArgumentHelp("Owner role (owns the schema, runs migrations).", valueName: "name"))
        var ownerRole: String?
        @Option(help: ArgumentHelp("Writer role (checkout systems and apps: posts, never rewrites).", valueName: "name"))
        var writerRole: String?
        @Option(help: ArgumentHelp("Auditor role (read-only).", valueName: "name"))
        var auditorRole: String?

        func run() async throws {
            let roles: RoleNames?
            if ownerRole == nil && writerRole == nil && auditorRole == nil {
                roles = nil
            } else {
                let standard = RoleNames.standard
                roles = RoleNames(
                    owner: ownerRole ?? standard.owner, writer: writerRole ?? standard.writer,
                    auditor: auditorRole ?? standard.auditor)
            }
            let ledger = try options.ledger()
            let applied = try await ledger.migrate(roles: roles)
            if options.json {
                try Terminal.json(["applied": applied.map(\.fileName)])
            } else if applied.isEmpty {
                Terminal.print("The database is up to date; no migration was pending.")
            } else {
                for migration in applied { Terminal.print("applied \(migration.fileName)") }
                Terminal.print("\(applied.count) migration\(applied.count == 1 ? "" : "s") applied.")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List applied and pending migrations.")

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let status = try await options.ledger().migrationStatus()
            if options.json {
                try Terminal.json(status)
            } else {
                Terminal.table(
                    ["version", "file", "state", "applied at"],
                    status.map { [.text(String(format: "%04d", $0.version)), .text($0.fileName), .text($0.state.rawValue), $0.appliedAt.map(Cell.time) ?? ""] })
            }
        }
    }
}

import Foundation
