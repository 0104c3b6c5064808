package storetest

import (
	"slices"
	"testing"

	"github.com/portcullis-id/portcullis/store"
)

func groupTests() []test {
	return []test{
		{"CRUD", testGroupCRUD},
		{"NameUniqueAndCaseInsensitive", testGroupNames},
		{"MembersSortedUniqueAndExisting", testGroupMembers},
		{"StaleVersionIsConflict", testGroupStaleVersion},
		{"AddMemberIdempotent", testAddMember},
		{"RemoveMemberIdempotent", testRemoveMember},
		{"GroupsOfUserSortedByName", testGroupsOfUser},
	}
}

func testGroupCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := mkUser(t, s, "a"), mkUser(t, s, "b")
	g := ok[store.Group](t, "create")(s.CreateGroup(ctx, store.Group{
		DisplayName: "Engineering", ExternalID: "ext-1", Source: "scim-entra", Members: []string{a.ID},
	}))
	if g.ID == "" || g.Version != 1 || g.CreatedAt.IsZero() {
		t.Fatalf("create = %+v, want an id, Version 1 and timestamps", g)
	}
	got := ok[store.Group](t, "get")(s.GetGroup(ctx, g.ID))
	if got.DisplayName != "Engineering" || got.ExternalID != "ext-1" || got.Source != "scim-entra" ||
		!equalStrings(got.Members, []string{a.ID}) {
		t.Errorf("get = %+v", got)
	}
	if list := ok[[]store.Group](t, "list")(s.ListGroups(ctx)); len(list) != 1 || list[0].ID != g.ID {
		t.Errorf("list = %+v", list)
	}

	got.Members = []string{b.ID}
	got.DisplayName = "Eng"
	upd := ok[store.Group](t, "update")(s.UpdateGroup(ctx, got))
	if upd.Version != 2 || !upd.UpdatedAt.After(g.UpdatedAt) {
		t.Errorf("update: v%d UpdatedAt %s, want v2 after %s", upd.Version, upd.UpdatedAt, g.UpdatedAt)
	}
	sameTime(t, "update CreatedAt", upd.CreatedAt, g.CreatedAt)
	if gs := ok[[]store.Group](t, "groups of a")(s.GroupsOfUser(ctx, a.ID)); len(gs) != 0 {
		t.Errorf("a still in %d groups after being replaced", len(gs))
	}
	if gs := ok[[]store.Group](t, "groups of b")(s.GroupsOfUser(ctx, b.ID)); len(gs) != 1 || gs[0].ID != g.ID {
		t.Errorf("groups of b = %+v, want [%s]", gs, g.ID)
	}

	noErr(t, "delete", s.DeleteGroup(ctx, g.ID))
	_, err := s.GetGroup(ctx, g.ID)
	wantErr(t, "get deleted", err, store.ErrNotFound)
	_, err = s.GetGroupByName(ctx, "Eng")
	wantErr(t, "get deleted by name", err, store.ErrNotFound)
	wantErr(t, "delete again", s.DeleteGroup(ctx, g.ID), store.ErrNotFound)
	if gs := ok[[]store.Group](t, "groups of b after delete")(s.GroupsOfUser(ctx, b.ID)); len(gs) != 0 {
		t.Errorf("deleted group still listed for b: %+v", gs)
	}
	_, err = s.UpdateGroup(ctx, upd)
	wantErr(t, "update deleted", err, store.ErrNotFound)
	mkGroup(t, s, "eng") // the name is free again
}

func testGroupNames(t *testing.T, s store.Store) {
	ctx := t.Context()
	g := mkGroup(t, s, "Admins")
	_, err := s.CreateGroup(ctx, store.Group{DisplayName: "ADMINS"})
	wantErr(t, "create with name differing in case", err, store.ErrAlreadyExists)
	_, err = s.CreateGroup(ctx, store.Group{ID: g.ID, DisplayName: "other"})
	wantErr(t, "create with same id", err, store.ErrAlreadyExists)
	for _, name := range []string{"Admins", "admins", "aDMINS"} {
		if got, err := s.GetGroupByName(ctx, name); err != nil || got.ID != g.ID {
			t.Errorf("GetGroupByName(%q) = %s, %v; want %s", name, got.ID, err, g.ID)
		}
	}
	_, err = s.GetGroupByName(ctx, "admin")
	wantErr(t, "get unknown name", err, store.ErrNotFound)

	other := mkGroup(t, s, "Operators")
	other.DisplayName = "admins"
	_, err = s.UpdateGroup(ctx, other)
	wantErr(t, "rename to a taken name", err, store.ErrAlreadyExists)

	g.DisplayName = "Administrators"
	ok[store.Group](t, "rename")(s.UpdateGroup(ctx, g))
	_, err = s.GetGroupByName(ctx, "admins")
	wantErr(t, "old name after rename", err, store.ErrNotFound)
	mkGroup(t, s, "admins")
}

func testGroupMembers(t *testing.T, s store.Store) {
	ctx := t.Context()
	var ids []string
	for _, n := range []string{"m1", "m2", "m3"} {
		ids = append(ids, mkUser(t, s, n).ID)
	}
	in := []string{ids[2], ids[0], ids[2], ids[1], ids[0]}
	g := ok[store.Group](t, "create")(s.CreateGroup(ctx, store.Group{DisplayName: "team", Members: in}))
	want := sortedCopy(ids)
	if !equalStrings(g.Members, want) {
		t.Errorf("create returned members %v, want %v", g.Members, want)
	}
	if got := ok[store.Group](t, "get")(s.GetGroup(ctx, g.ID)); !equalStrings(got.Members, want) {
		t.Errorf("stored members %v, want %v", got.Members, want)
	}
	if in[0] != ids[2] || in[1] != ids[0] {
		t.Error("create reordered the caller's Members slice")
	}

	_, err := s.CreateGroup(ctx, store.Group{DisplayName: "ghosts", Members: []string{ids[0], "no-such-user"}})
	wantErr(t, "create with unknown member", err, store.ErrNotFound)
	if _, err := s.GetGroupByName(ctx, "ghosts"); err == nil {
		t.Error("group with an unknown member was stored")
	}

	g.Members = append(g.Members, "no-such-user")
	_, err = s.UpdateGroup(ctx, g)
	wantErr(t, "update with unknown member", err, store.ErrNotFound)
	if got := ok[store.Group](t, "get")(s.GetGroup(ctx, g.ID)); got.Version != 1 || !equalStrings(got.Members, want) {
		t.Errorf("refused update changed the group: %+v", got)
	}
}

func sortedCopy(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
}

func testGroupStaleVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "u")
	g := mkGroup(t, s, "g")
	noErr(t, "add member", s.AddMember(ctx, g.ID, u.ID)) // bumps the version
	g.DisplayName = "stale"
	_, err := s.UpdateGroup(ctx, g)
	wantErr(t, "update after AddMember with the old version", err, store.ErrConflict)
	got := ok[store.Group](t, "get")(s.GetGroup(ctx, g.ID))
	if got.DisplayName != "g" || got.Version != 2 || !equalStrings(got.Members, []string{u.ID}) {
		t.Errorf("after conflict got %+v", got)
	}
}

func testAddMember(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "u")
	g := mkGroup(t, s, "g")
	noErr(t, "add", s.AddMember(ctx, g.ID, u.ID))
	noErr(t, "add again", s.AddMember(ctx, g.ID, u.ID))
	got := ok[store.Group](t, "get")(s.GetGroup(ctx, g.ID))
	if !equalStrings(got.Members, []string{u.ID}) {
		t.Errorf("members = %v, want [%s]", got.Members, u.ID)
	}
	if got.Version != 2 {
		t.Errorf("Version = %d, want 2: only the first AddMember changes the group", got.Version)
	}
	wantErr(t, "add unknown user", s.AddMember(ctx, g.ID, "no-such-user"), store.ErrNotFound)
	wantErr(t, "add to unknown group", s.AddMember(ctx, "no-such-group", u.ID), store.ErrNotFound)
	if got := ok[store.Group](t, "get")(s.GetGroup(ctx, g.ID)); len(got.Members) != 1 {
		t.Errorf("failed AddMember changed members: %v", got.Members)
	}
}

func testRemoveMember(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, v := mkUser(t, s, "u"), mkUser(t, s, "v")
	g := mkGroup(t, s, "g", u.ID, v.ID)
	noErr(t, "remove", s.RemoveMember(ctx, g.ID, u.ID))
	noErr(t, "remove again", s.RemoveMember(ctx, g.ID, u.ID))
	got := ok[store.Group](t, "get")(s.GetGroup(ctx, g.ID))
	if !equalStrings(got.Members, []string{v.ID}) || got.Version != 2 {
		t.Errorf("after remove: members %v v%d, want [%s] v2", got.Members, got.Version, v.ID)
	}
	if gs := ok[[]store.Group](t, "groups of u")(s.GroupsOfUser(ctx, u.ID)); len(gs) != 0 {
		t.Errorf("removed user still in %+v", gs)
	}
	wantErr(t, "remove from unknown group", s.RemoveMember(ctx, "no-such-group", v.ID), store.ErrNotFound)
}

func testGroupsOfUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, other := mkUser(t, s, "u"), mkUser(t, s, "other")
	for _, name := range []string{"zeta", "alpha", "mid"} {
		g := mkGroup(t, s, name)
		noErr(t, "add", s.AddMember(ctx, g.ID, u.ID))
	}
	mkGroup(t, s, "beta", other.ID)
	gs := ok[[]store.Group](t, "groups of u")(s.GroupsOfUser(ctx, u.ID))
	var names []string
	for _, g := range gs {
		names = append(names, g.DisplayName)
	}
	if want := []string{"alpha", "mid", "zeta"}; !equalStrings(names, want) {
		t.Errorf("GroupsOfUser = %v, want %v", names, want)
	}
	if gs := ok[[]store.Group](t, "groups of unknown")(s.GroupsOfUser(ctx, "no-such-user")); len(gs) != 0 {
		t.Errorf("unknown user is in %d groups", len(gs))
	}
}
