package bolt

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/portcullis-id/portcullis/store"
)

func (t *tx) CreateGroup(ctx context.Context, g store.Group) (store.Group, error) {
	if err := t.begin(ctx); err != nil {
		return store.Group{}, fmt.Errorf("create group: %w", err)
	}
	if err := fillID(&g.ID); err != nil {
		return store.Group{}, fmt.Errorf("create group: %w", err)
	}
	if err := validGroup(g); err != nil {
		return store.Group{}, fmt.Errorf("create group %q: %w", g.ID, err)
	}
	groups, names := t.b(bGroups), t.b(bGroupsByName)
	if groups.Get([]byte(g.ID)) != nil {
		return store.Group{}, fmt.Errorf("create group: id %q: %w", g.ID, store.ErrAlreadyExists)
	}
	if names.Get(nameKey(g.DisplayName)) != nil {
		return store.Group{}, fmt.Errorf("create group: name %q: %w", g.DisplayName, store.ErrAlreadyExists)
	}
	members, err := t.normalizeMembers(g.Members)
	if err != nil {
		return store.Group{}, fmt.Errorf("create group %q: %w", g.ID, err)
	}
	g.Members = members
	now := t.clock()
	g.Meta = store.Meta{CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := putJSON(groups, []byte(g.ID), g); err != nil {
		return store.Group{}, fmt.Errorf("create group %q: %w", g.ID, err)
	}
	if err := names.Put(nameKey(g.DisplayName), []byte(g.ID)); err != nil {
		return store.Group{}, fmt.Errorf("create group %q: index name: %w", g.ID, err)
	}
	if err := t.indexMembers(g.ID, nil, g.Members); err != nil {
		return store.Group{}, fmt.Errorf("create group %q: %w", g.ID, err)
	}
	return g, nil
}

func validGroup(g store.Group) error {
	if err := checkKeyPart("id", g.ID); err != nil {
		return err
	}
	if g.DisplayName == "" {
		return fmt.Errorf("%w: empty displayName", errInvalid)
	}
	return nil
}

// normalizeMembers returns a sorted, duplicate-free copy of ids after checking that
// every one names a user. The caller's slice is left alone.
func (t *tx) normalizeMembers(ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	out = slices.Compact(out)
	for _, id := range out {
		if !t.userExists(id) {
			return nil, fmt.Errorf("member %q: %w", id, store.ErrNotFound)
		}
	}
	return out, nil
}

// indexMembers brings the memberships index from old to next (both sorted).
func (t *tx) indexMembers(groupID string, old, next []string) error {
	idx := t.b(bMemberships)
	for _, u := range old {
		if _, found := slices.BinarySearch(next, u); !found {
			if err := idx.Delete(compositeKey(u, groupID)); err != nil {
				return fmt.Errorf("unindex member %q: %w", u, err)
			}
		}
	}
	for _, u := range next {
		if _, found := slices.BinarySearch(old, u); !found {
			if err := idx.Put(compositeKey(u, groupID), nil); err != nil {
				return fmt.Errorf("index member %q: %w", u, err)
			}
		}
	}
	return nil
}

func (t *tx) GetGroup(ctx context.Context, id string) (store.Group, error) {
	if err := t.check(ctx); err != nil {
		return store.Group{}, fmt.Errorf("get group %q: %w", id, err)
	}
	g, err := t.loadGroup(id)
	if err != nil {
		return store.Group{}, fmt.Errorf("get group %q: %w", id, err)
	}
	return g, nil
}

func (t *tx) loadGroup(id string) (store.Group, error) {
	var g store.Group
	err := loadOrNotFound(t.b(bGroups), id, &g)
	return g, err
}

func (t *tx) putGroup(g store.Group) error {
	return putJSON(t.b(bGroups), []byte(g.ID), g)
}

func (t *tx) GetGroupByName(ctx context.Context, name string) (store.Group, error) {
	if err := t.check(ctx); err != nil {
		return store.Group{}, fmt.Errorf("get group by name %q: %w", name, err)
	}
	id := t.b(bGroupsByName).Get(nameKey(name))
	if id == nil || name == "" {
		return store.Group{}, fmt.Errorf("get group by name %q: %w", name, store.ErrNotFound)
	}
	g, err := t.loadGroup(string(id))
	if err != nil {
		return store.Group{}, fmt.Errorf("get group by name %q: %w", name, err)
	}
	return g, nil
}

// ListGroups returns every group, ordered by id.
func (t *tx) ListGroups(ctx context.Context) ([]store.Group, error) {
	if err := t.check(ctx); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	out, err := listJSON[store.Group](t.b(bGroups))
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return out, nil
}

func (t *tx) UpdateGroup(ctx context.Context, g store.Group) (store.Group, error) {
	if err := t.begin(ctx); err != nil {
		return store.Group{}, fmt.Errorf("update group %q: %w", g.ID, err)
	}
	if err := validGroup(g); err != nil {
		return store.Group{}, fmt.Errorf("update group %q: %w", g.ID, err)
	}
	old, err := t.loadGroup(g.ID)
	if err != nil {
		return store.Group{}, fmt.Errorf("update group %q: %w", g.ID, err)
	}
	if err := checkVersion(g.Version, old.Version); err != nil {
		return store.Group{}, fmt.Errorf("update group %q: %w", g.ID, err)
	}
	members, err := t.normalizeMembers(g.Members)
	if err != nil {
		return store.Group{}, fmt.Errorf("update group %q: %w", g.ID, err)
	}
	g.Members = members
	names := t.b(bGroupsByName)
	oldKey, newKey := nameKey(old.DisplayName), nameKey(g.DisplayName)
	if string(oldKey) != string(newKey) {
		if names.Get(newKey) != nil {
			return store.Group{}, fmt.Errorf("update group %q: name %q: %w", g.ID, g.DisplayName, store.ErrAlreadyExists)
		}
		if err := names.Delete(oldKey); err != nil {
			return store.Group{}, fmt.Errorf("update group %q: unindex old name: %w", g.ID, err)
		}
		if err := names.Put(newKey, []byte(g.ID)); err != nil {
			return store.Group{}, fmt.Errorf("update group %q: index name: %w", g.ID, err)
		}
	}
	if err := t.indexMembers(g.ID, old.Members, g.Members); err != nil {
		return store.Group{}, fmt.Errorf("update group %q: %w", g.ID, err)
	}
	g.Meta = store.Meta{CreatedAt: old.CreatedAt, UpdatedAt: t.clock(), Version: old.Version + 1}
	if err := t.putGroup(g); err != nil {
		return store.Group{}, fmt.Errorf("update group %q: %w", g.ID, err)
	}
	return g, nil
}

func (t *tx) DeleteGroup(ctx context.Context, id string) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("delete group %q: %w", id, err)
	}
	g, err := t.loadGroup(id)
	if err != nil {
		return fmt.Errorf("delete group %q: %w", id, err)
	}
	if err := t.indexMembers(id, g.Members, nil); err != nil {
		return fmt.Errorf("delete group %q: %w", id, err)
	}
	if err := t.b(bGroupsByName).Delete(nameKey(g.DisplayName)); err != nil {
		return fmt.Errorf("delete group %q: unindex name: %w", id, err)
	}
	if err := t.b(bGroups).Delete([]byte(id)); err != nil {
		return fmt.Errorf("delete group %q: %w", id, err)
	}
	return nil
}

func (t *tx) AddMember(ctx context.Context, groupID, userID string) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("add user %q to group %q: %w", userID, groupID, err)
	}
	g, err := t.loadGroup(groupID)
	if err != nil {
		return fmt.Errorf("add user %q to group %q: %w", userID, groupID, err)
	}
	if !t.userExists(userID) {
		return fmt.Errorf("add user %q to group %q: user: %w", userID, groupID, store.ErrNotFound)
	}
	i, found := slices.BinarySearch(g.Members, userID)
	if found {
		return nil
	}
	g.Members = slices.Insert(g.Members, i, userID)
	g.UpdatedAt, g.Version = t.clock(), g.Version+1
	if err := t.putGroup(g); err != nil {
		return fmt.Errorf("add user %q to group %q: %w", userID, groupID, err)
	}
	if err := t.b(bMemberships).Put(compositeKey(userID, groupID), nil); err != nil {
		return fmt.Errorf("add user %q to group %q: index: %w", userID, groupID, err)
	}
	return nil
}

func (t *tx) RemoveMember(ctx context.Context, groupID, userID string) error {
	if err := t.begin(ctx); err != nil {
		return fmt.Errorf("remove user %q from group %q: %w", userID, groupID, err)
	}
	if _, err := t.removeMember(groupID, userID); err != nil {
		return fmt.Errorf("remove user %q from group %q: %w", userID, groupID, err)
	}
	return nil
}

// removeMember drops userID from the group, bumping its version, and reports whether
// it was a member.
func (t *tx) removeMember(groupID, userID string) (bool, error) {
	g, err := t.loadGroup(groupID)
	if err != nil {
		return false, err
	}
	i, found := slices.BinarySearch(g.Members, userID)
	if !found {
		return false, nil
	}
	g.Members = slices.Delete(g.Members, i, i+1)
	if len(g.Members) == 0 {
		g.Members = nil
	}
	g.UpdatedAt, g.Version = t.clock(), g.Version+1
	if err := t.putGroup(g); err != nil {
		return false, err
	}
	if err := t.b(bMemberships).Delete(compositeKey(userID, groupID)); err != nil {
		return false, fmt.Errorf("unindex: %w", err)
	}
	return true, nil
}

// GroupsOfUser returns the user's groups sorted by displayName, case-insensitively.
// An unknown user has no groups.
func (t *tx) GroupsOfUser(ctx context.Context, userID string) ([]store.Group, error) {
	if err := t.check(ctx); err != nil {
		return nil, fmt.Errorf("groups of user %q: %w", userID, err)
	}
	if userID == "" {
		return nil, nil
	}
	var out []store.Group
	for _, groupID := range scanSuffixes(t.b(bMemberships), prefixKey(userID)) {
		g, err := t.loadGroup(groupID)
		if err != nil {
			return nil, fmt.Errorf("groups of user %q: group %q: %w", userID, groupID, err)
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b store.Group) int {
		if c := strings.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
