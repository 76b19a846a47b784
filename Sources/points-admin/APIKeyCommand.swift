import ArgumentParser
import PointsLedger
import Postgres

struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-key", abstract: "Make, list and revoke the keys clients of points-server use.",
        discussion: """
            A key is scoped to one program and one role: checkout (purchases, refunds, holds, \
            redemptions, balances), app (a member app: members, tasks, standing) or finance (reports, \
            read only). The ledger keeps only a hash of its secret; the secret is printed once, when \
            the key is made. Needs the admin's (the owner role's) rights.
            """,
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a key and print its secret, once.",
            discussion: "Hand the secret to the client now: it cannot be shown again. A lost secret is replaced by a new key.")

        @OptionGroup var options: GlobalOptions
        @Option(help: ArgumentHelp("checkout, app or finance.", valueName: "role"))
        var role: String
        @Option(help: ArgumentHelp("Who holds the key, such as \"checkout of store 12\".", valueName: "text"))
        var name: String
        @Option(help: ArgumentHelp("Who makes the key.", valueName: "name"))
        var actor: String

        func run() async throws {
            guard let role = APIRole(rawValue: role) else {
                throw LedgerError.invalidInput(field: "--role", reason: "\"\(role)\" is not a role: use checkout, app or finance")
            }
            let (ledger, program) = try await options.ledgerAndProgram()
            let made = try await ledger.createAPIKey(in: program, role: role, name: name, actor: actor)
            if options.json {
                try Terminal.json(NewKeyOutput(key: made.key, secret: made.secret))
                return
            }
            Terminal.fields([
                ("key", "\(made.key.id)"), ("program", made.key.program), ("role", made.key.role.rawValue), ("name", made.key.name),
                ("secret", made.secret),
            ])
            Terminal.print("Give the secret to the client now: it is shown only this once. Clients send it as: Authorization: Bearer <secret>")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the program's keys, in force and revoked (never a secret).")

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let keys = try await ledger.apiKeys(of: program)
            if options.json {
                try Terminal.json(keys)
            } else if keys.isEmpty {
                Terminal.print("No API keys yet; make one with: points-admin api-key create --role checkout --name TEXT --actor NAME")
            } else {
                Terminal.table(
                    ["key", "role", "name", "created", "by", "revoked"],
                    keys.map { key in
                        [.id(Int64(key.id)), .text(key.role.rawValue), .text(key.name), .time(key.createdAt), .text(key.createdBy),
                         .text(key.revokedAt.map { "\(Terminal.clock.text($0)) by \(key.revokedBy ?? "")" } ?? "in force")]
                    })
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key: it stops working at once.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The key's number (api-key list).", valueName: "key"))
        var key: String
        @Option(help: ArgumentHelp("Who revokes it.", valueName: "name"))
        var actor: String

        func run() async throws {
            guard let id = Int64(key), id > 0 else {
                throw LedgerError.invalidInput(field: "key", reason: "\"\(key)\" is not a key number; see points-admin api-key list")
            }
            let (ledger, program) = try await options.ledgerAndProgram()
            let revoked = try await ledger.revokeAPIKey(id, in: program, actor: actor)
            if options.json {
                try Terminal.json(revoked)
            } else {
                Terminal.print("Key \(revoked.id) (\(revoked.role.rawValue), \(revoked.name)) is revoked since \(revoked.revokedAt.map(Terminal.clock.text) ?? "now").")
            }
        }
    }
}

/// A new key as --json prints it: the key and, this once, its secret.
private struct NewKeyOutput: Encodable {
    let key: APIKey
    let secret: String
}
