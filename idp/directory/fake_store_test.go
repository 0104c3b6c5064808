package directory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/portcullis-id/portcullis/idp/audit"
	"github.com/portcullis-id/portcullis/store"
)

// fakeStore is an in-memory Store with the optimistic-concurrency rules of the
// store contract, plus knobs to inject conflicts and errors.
type fakeStore struct {
	mu     sync.Mutex
	users  map[string]store.User
	creds  map[string]store.Credential // key: userID
	groups []store.Group

	updateConflicts int   // UpdateUser fails with ErrConflict this many times
	putErr          error // PutCredential fails with this when set
	getUserErr      error

	puts             int
	revokedSessions  []string
	revokedRefreshes []string
}

var _ Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{users: map[string]store.User{}, creds: map[string]store.Credential{}}
}

func (s *fakeStore) addUser(u store.User) store.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.Version = 1
	s.users[u.ID] = u
	return u
}

func (s *fakeStore) GetUser(_ context.Context, id string) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return store.User{}, fmt.Errorf("user %s: %w", id, store.ErrNotFound)
	}
	return u, nil
}

func (s *fakeStore) GetUserByName(_ context.Context, name string) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.getUserErr != nil {
		return store.User{}, s.getUserErr
	}
	for _, u := range s.users {
		if strings.EqualFold(u.UserName, name) {
			return u, nil
		}
	}
	return store.User{}, fmt.Errorf("user name %q: %w", name, store.ErrNotFound)
}

func (s *fakeStore) UpdateUser(_ context.Context, u store.User) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.users[u.ID]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	if s.updateConflicts > 0 {
		s.updateConflicts--
		// Simulate a concurrent writer bumping the version.
		cur.Version++
		s.users[u.ID] = cur
		return store.User{}, store.ErrConflict
	}
	if cur.Version != u.Version {
		return store.User{}, store.ErrConflict
	}
	u.Version++
	s.users[u.ID] = u
	return u, nil
}

func (s *fakeStore) GroupsOfUser(_ context.Context, userID string) ([]store.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Group
	for _, g := range s.groups {
		if slices.Contains(g.Members, userID) {
			out = append(out, g)
		}
	}
	return out, nil
}

func (s *fakeStore) GetCredential(_ context.Context, userID, typ, id string) (store.Credential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.creds[userID]
	if !ok || typ != store.CredentialPassword || id != store.CredentialPassword {
		return store.Credential{}, store.ErrNotFound
	}
	return c, nil
}

func (s *fakeStore) PutCredential(_ context.Context, c store.Credential) (store.Credential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.putErr != nil {
		return store.Credential{}, s.putErr
	}
	if _, ok := s.users[c.UserID]; !ok {
		return store.Credential{}, store.ErrNotFound
	}
	cur, exists := s.creds[c.UserID]
	if c.Version != 0 && (!exists || cur.Version != c.Version) {
		return store.Credential{}, store.ErrConflict
	}
	c.Version = cur.Version + 1
	s.creds[c.UserID] = c
	s.puts++
	return c, nil
}

func (s *fakeStore) RevokeUserSessions(_ context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokedSessions = append(s.revokedSessions, userID)
	return nil
}

func (s *fakeStore) RevokeUserRefreshTokens(_ context.Context, userID string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokedRefreshes = append(s.revokedRefreshes, userID)
	return []string{"fam1", "fam2"}, nil
}

func (s *fakeStore) cred(userID string) store.Credential {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creds[userID]
}

// recorder keeps audit events.
type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Record(_ context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) last() audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		return audit.Event{}
	}
	return r.events[len(r.events)-1]
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}
