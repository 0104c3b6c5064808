//go:build ignore

// gen_common writes common_passwords.txt: well-known passwords that top the published
// rankings of leaked credentials, plus the systematic variants people make of them
// (digit and year suffixes, simple substitutions, keyboard walks, repeated digits).
// Only entries of at least 8 characters are kept: shorter ones already fail the
// length rule. Run with `go generate ./idp/directory`.
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// bases are frequent passwords and password stems. Short stems are kept because their
// suffixed forms ("dragon123") are common even though the stem alone is too short.
var bases = []string{
	"password", "passw0rd", "p@ssword", "p@ssw0rd", "pa$$word", "pass", "passwort",
	"motdepasse", "contrasena", "senha", "parola", "wachtwoord", "haslo", "salasana",
	"qwerty", "qwertz", "azerty", "asdf", "asdfgh", "zxcvbn", "qazwsx", "abc", "abcd",
	"abcdef", "iloveyou", "iloveu", "loveyou", "lovely", "love", "sunshine", "princess",
	"football", "baseball", "basketball", "soccer", "hockey", "welcome", "shadow",
	"superman", "batman", "spiderman", "michael", "monkey", "dragon", "master", "letmein",
	"trustno1", "mustang", "access", "hello", "charlie", "donald", "freedom", "whatever",
	"starwars", "ninja", "jordan", "jennifer", "hunter", "buster", "soccer", "harley",
	"ranger", "thomas", "robert", "daniel", "andrew", "joshua", "matthew", "anthony",
	"william", "jessica", "ashley", "amanda", "nicole", "michelle", "tigger", "pepper",
	"ginger", "maggie", "summer", "winter", "spring", "autumn", "flower", "cookie",
	"chocolate", "butterfly", "purple", "orange", "yellow", "silver", "golden", "diamond",
	"killer", "pokemon", "naruto", "computer", "internet", "admin", "administrator",
	"root", "toor", "test", "tester", "testing", "guest", "user", "default", "changeme",
	"secret", "qwertyuiop", "asdfghjkl", "zxcvbnm", "google", "facebook", "linkedin",
	"samsung", "apple", "microsoft", "windows", "iphone", "android", "mercedes", "ferrari",
	"porsche", "corvette", "liverpool", "chelsea", "arsenal", "barcelona", "manchester",
	"yankees", "cowboys", "steelers", "eagles", "lakers", "london", "berlin", "paris",
	"america", "canada", "england", "mexico", "family", "friends", "forever", "angel",
	"angels", "baby", "babygirl", "sweety", "sweetheart", "honey", "lucky", "happy",
	"smile", "single", "sexy", "hottie", "money", "dollar", "business", "company",
	"office", "work", "school", "student", "teacher", "doctor", "nurse", "police",
	"soldier", "matrix", "merlin", "wizard", "magic", "phoenix", "thunder", "tiger",
	"lion", "eagle", "falcon", "panther", "jaguar", "cheese", "banana", "cherry",
	"coffee", "pizza", "beer", "whiskey", "music", "guitar", "rockstar", "player",
	"gamer", "hacker", "zaq1zaq1", "zaq12wsx", "1qaz2wsx", "1q2w3e4r", "1q2w3e4r5t",
	"qazwsxedc", "q1w2e3r4", "q1w2e3r4t5", "a1b2c3d4", "abcd1234", "aa123456",
	"qwe123", "asd123", "zxc123", "qweasd", "qweasdzxc", "letmein!", "welcome!",
	"superstar", "superuser", "sysadmin", "support", "service", "server", "database",
	"oracle", "mysql", "postgres", "backup", "security", "login", "logon", "private",
	"public", "system", "network", "wireless", "router", "cisco", "ubuntu", "linux",
	"debian", "portcullis", "identity", "snoopy", "scooter", "buddy", "bailey", "sophie",
	"charlotte", "oliver", "jackson", "taylor", "michael1", "jesus", "christ", "blessed",
	"heaven", "god", "faith", "hope", "peace", "unknown", "nothing", "mypassword",
	"yourpassword", "newpassword", "oldpassword", "password!", "iloveyou!", "loveme",
	"fuckyou", "fuckoff", "asshole", "bitch", "qwertyui", "asdfasdf", "qwerqwer",
	"zxcvzxcv", "abcabc", "aaaaaa", "computer1", "trustme", "fishing", "hunting",
	"golfer", "tennis", "runner", "racing", "dakota", "montana", "texas", "florida",
	"california", "chicago", "boston", "dallas", "denver", "phoenix1", "miami",
}

// keyboardAndNumbers are complete entries, kept as they are.
var keyboardAndNumbers = []string{
	"123456789", "1234567890", "12345678", "0123456789", "987654321", "9876543210",
	"87654321", "12344321", "123123123", "123321123", "12341234", "11223344",
	"112233445566", "123456123456", "147258369", "159753456", "741852963", "963852741",
	"789456123", "456789123", "147852369", "123654789", "1234512345", "5201314520",
	"12121212", "13131313", "69696969", "10203040", "01020304", "121212121",
	"qwertyuiop", "qwertyuiop123", "asdfghjkl", "zxcvbnm123", "1qaz2wsx3edc",
	"1qazxsw2", "qazxswedc", "zaq1xsw2", "zaq1xsw2cde3", "!qaz2wsx", "1q2w3e4r5t6y",
	"q1w2e3r4t5y6", "qwerty123456", "qwertyui", "asdfghjk", "zxcvbnm,", "1qa2ws3ed",
	"poiuytrewq", "lkjhgfdsa", "mnbvcxz", "abcdefgh", "abcdefg1", "abcdefghi",
	"abcdefghij", "a1s2d3f4", "q1q1q1q1", "a1a1a1a1", "aaaaaaaa", "qqqqqqqq",
	"zzzzzzzz", "xxxxxxxx", "iloveyou2", "!@#$%^&*", "!@#$%^&*()", "1234qwer",
	"qwer1234", "asdf1234", "zxcv1234", "1234asdf", "1234abcd", "abc12345",
	"abc123456", "a12345678", "a123456789", "password1234", "p4ssw0rd", "passw0rd!",
	"qwerty12", "letmein123", "welcome123", "admin12345", "administrator1",
	"changeme123", "default123", "trustno1!", "baseball1", "football1", "iloveyou1",
	"princess1", "sunshine1", "superman1", "starwars1", "whatever1", "11111111",
	"111111111", "1111111111", "00000000", "000000000", "0000000000", "22222222",
	"33333333", "44444444", "55555555", "66666666", "77777777", "88888888", "99999999",
	"12345678910", "1234567891", "123456789a", "123456789q", "qwerty1234",
}

// suffixes people append to a stem, most frequent first.
var suffixes = []string{
	"", "1", "12", "123", "1234", "12345", "123456", "!", "1!", "123!", "01", "007",
	"69", "88", "99", "00", "11", "13", "21", "22", "23", "2000", "2010", "2015",
	"2016", "2017", "2018", "2019", "2020", "2021", "2022", "2023", "2024", "2025",
	"2026", "@123", "#1", "_123", ".", "?",
}

func main() {
	set := map[string]struct{}{}
	add := func(s string) {
		s = strings.ToLower(s)
		if len([]rune(s)) >= 8 {
			set[s] = struct{}{}
		}
	}
	for _, w := range keyboardAndNumbers {
		add(w)
	}
	for _, b := range bases {
		for _, s := range suffixes {
			add(b + s)
		}
		add(b + b)
		add(strings.NewReplacer("a", "@", "o", "0", "e", "3", "i", "1", "s", "$").Replace(b) + "1")
		add(strings.NewReplacer("o", "0").Replace(b) + "123")
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	var sb strings.Builder
	sb.WriteString(`# Common passwords refused by the password policy (NIST SP 800-63B §3.1.1.2:
# compare against values known to be commonly used or compromised).
#
# Compiled for Portcullis by gen_common.go from the passwords that lead the widely
# published rankings of leaked credentials, plus systematic variants (digit and year
# suffixes, character substitutions, doubled words, keyboard walks). No third-party
# list is copied; this file is distributed under the Portcullis license.
#
# Format: one entry per line, lowercase, at least 8 characters; lines starting with
# "#" are comments. Matching is case-insensitive after NFKC normalisation.
`)
	for _, s := range out {
		sb.WriteString(s)
		sb.WriteByte('\n')
	}
	if err := os.WriteFile("common_passwords.txt", []byte(sb.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d entries\n", len(out))
}
