// Package login holds the sign-in rules that do not depend on HTTP: when a second
// factor is required, which authentication context (acr) and methods (amr) a sign-in
// earns, and whether an existing browser session is good enough for a new request.
//
// The pages in web/ui ask these questions; nothing here renders or stores anything.
package login
