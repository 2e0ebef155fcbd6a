// Package auth decides who is calling netreadyd. gNMI clients either
// present a client certificate (mTLS, verified against an operator CA) or
// send a username and password as gRPC metadata, the way gnmic does; both
// resolve to an Identity carrying the user's roles and tenants from a small
// JSON users file, so later authorization has one thing to look at.
//
// The parts:
//
//   - Users: the users file (bcrypt password hashes, roles, tenants),
//     loaded, edited and saved atomically by `netreadyd user`.
//   - Authenticator: checks one RPC's credentials. bcrypt is deliberately
//     slow (~100 ms at cost 12), so verified passwords are cached for a
//     short TTL, and repeated failures per client address and per (address,
//     user) pair are refused with a growing back-off before bcrypt is even
//     run; attempts count while they run, and never is a user refused as
//     such, so a guesser cannot lock out the right password.
//   - FailureLog: logs failures at a bounded rate, with client-supplied
//     names clipped.
//   - UnaryInterceptor/StreamInterceptor: run the Authenticator on every
//     RPC and put the Identity into the context (FromContext).
//   - ServerTLS/Reloader: a TLS 1.2+ server config that verifies client
//     certificates and picks up rotated certificate, key and client CA
//     files without a restart.
//
// Every authentication failure looks the same to the client
// (codes.Unauthenticated, "authentication failed") so that a caller cannot
// tell an unknown user from a wrong password or a rate-limited attempt; the
// reason is only available to the server through Options.OnFailure.
package auth
