/*
 * thread: THREAD / UID THREAD (RFC 5256 §3); see thread.h.
 *
 * Both algorithms build one tree of nodes in an array (indexes, not
 * pointers, so the array may grow): node 0 is the root, a node is a message
 * or a dummy, children are a doubly linked list so that relinking is O(1).
 * Every walk over the tree uses an explicit stack, and every sibling set is
 * sorted once at the end by (sent date, sequence number), a dummy by its
 * first child's, which is what RFC 5256 §3 step 6 asks; so the order in
 * which links are made does not matter.
 */
#include "imap/thread.h"

#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/str.h"
#include "imap/search.h"
#include "imap/session.h"
#include "imap/sort.h"

#define THREAD_NONE (-1)
#define THREAD_ROOT 0
/* The write stack's marker for "close the parenthesis". */
#define THREAD_CLOSE (-2)

struct thread_node {
	int32_t msg;  /* index into msgs; THREAD_NONE for a dummy and the root */
	int32_t parent, child, next, prev;
};

/* Message-ID -> node, open addressing; keys live in the arena. */
struct thread_map_slot {
	const char *key;
	uint32_t hash;
	int32_t node;
};

struct thread_map {
	struct thread_map_slot *slots;
	size_t cap, count;
};

struct thread_tree {
	struct arena *arena;
	const struct imap_thread_message *msgs;
	ARRAY(struct thread_node) nodes;
	ARRAY(int32_t) work;   /* scratch lists of node indexes */
	ARRAY(int32_t) kept;
};

/* A sort key: (sent date, sequence order) of a node, a dummy's from its
 * first child. */
struct thread_key {
	int64_t date;
	int32_t msg;
	int32_t node;
};

bool imap_thread_parse_algorithm(const char *name, enum imap_thread_algorithm *algorithm_r)
{
	if (str_eq_nocase(name, "ORDEREDSUBJECT"))
		*algorithm_r = IMAP_THREAD_ORDEREDSUBJECT;
	else if (str_eq_nocase(name, "REFERENCES"))
		*algorithm_r = IMAP_THREAD_REFERENCES;
	else
		return false;
	return true;
}

/* ---- message ids -------------------------------------------------------------- */

char *imap_thread_next_msgid(struct arena *arena, const char *value, size_t *pos)
{
	const char *p;

	if (value == NULL)
		return NULL;
	p = value + *pos;
	for (;;) {
		const char *lt = strchr(p, '<'), *gt, *inner;
		if (lt == NULL || (gt = strchr(lt + 1, '>')) == NULL) {
			*pos += strlen(value + *pos);
			return NULL;
		}
		/* "<a <b@c>": the id starts at the last '<' */
		while ((inner = memchr(lt + 1, '<', (size_t)(gt - lt - 1))) != NULL)
			lt = inner;
		char *id = arena_alloc(arena, (size_t)(gt - lt));
		size_t n = 0, at = 0;
		for (const char *c = lt + 1; c < gt; c++) {
			if (*c == '"' || *c == ' ' || *c == '\t' || *c == '\r' || *c == '\n')
				continue;
			if (*c == '\\' && c + 1 < gt)
				c++;
			else if (*c == '@')
				at = n;
			id[n++] = *c;
		}
		id[n] = '\0';
		*pos = (size_t)(gt + 1 - value);
		/* msg-id = "<" id-left "@" id-right ">" (RFC 5322 §3.6.4) */
		if (at > 0 && at + 1 < n)
			return id;
		p = gt + 1;
	}
}

static uint32_t thread_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct thread_map_slot *thread_map_slot(struct thread_map *map, const char *key,
					       uint32_t hash)
{
	size_t i = hash & (map->cap - 1);

	while (map->slots[i].key != NULL &&
	       (map->slots[i].hash != hash || strcmp(map->slots[i].key, key) != 0))
		i = (i + 1) & (map->cap - 1);
	return &map->slots[i];
}

static void thread_map_init(struct thread_map *map, size_t expected)
{
	map->cap = 16;
	while (map->cap < expected * 2)
		map->cap *= 2;
	map->count = 0;
	map->slots = calloc(map->cap, sizeof(*map->slots));
	if (map->slots == NULL)
		abort();
}

/* The node of key, or THREAD_NONE. */
static int32_t thread_map_find(struct thread_map *map, const char *key)
{
	struct thread_map_slot *slot = thread_map_slot(map, key, thread_hash(key));

	return slot->key != NULL ? slot->node : THREAD_NONE;
}

static void thread_map_add(struct thread_map *map, const char *key, int32_t node)
{
	uint32_t hash = thread_hash(key);
	struct thread_map_slot *slot;

	if ((map->count + 1) * 2 > map->cap) {
		struct thread_map old = *map;
		thread_map_init(map, old.cap);
		for (size_t i = 0; i < old.cap; i++) {
			if (old.slots[i].key != NULL) {
				*thread_map_slot(map, old.slots[i].key, old.slots[i].hash) = old.slots[i];
				map->count++;
			}
		}
		free(old.slots);
	}
	slot = thread_map_slot(map, key, hash);
	slot->key = key;
	slot->hash = hash;
	slot->node = node;
	map->count++;
}

/* ---- the tree ------------------------------------------------------------------ */

#define NODE(t, i) (&(t)->nodes.items[(i)])

static int32_t thread_new_node(struct thread_tree *t, int32_t msg)
{
	struct thread_node n = { msg, THREAD_NONE, THREAD_NONE, THREAD_NONE, THREAD_NONE };

	array_push(&t->nodes, n);
	return (int32_t)t->nodes.count - 1;
}

static void thread_unlink(struct thread_tree *t, int32_t n)
{
	struct thread_node *node = NODE(t, n);

	if (node->parent == THREAD_NONE)
		return;
	if (node->prev != THREAD_NONE)
		NODE(t, node->prev)->next = node->next;
	else
		NODE(t, node->parent)->child = node->next;
	if (node->next != THREAD_NONE)
		NODE(t, node->next)->prev = node->prev;
	node->parent = node->prev = node->next = THREAD_NONE;
}

static void thread_link(struct thread_tree *t, int32_t parent, int32_t child)
{
	struct thread_node *c = NODE(t, child), *p = NODE(t, parent);

	c->parent = parent;
	c->prev = THREAD_NONE;
	c->next = p->child;
	if (p->child != THREAD_NONE)
		NODE(t, p->child)->prev = child;
	p->child = child;
}

/* Would making parent the parent of child close a loop (parent is child
 * or one of its descendants)? A child without children cannot be an
 * ancestor of anything, which settles nearly every link at once. */
static bool thread_would_loop(struct thread_tree *t, int32_t parent, int32_t child)
{
	if (parent == child)
		return true;
	if (NODE(t, child)->child == THREAD_NONE)
		return false;
	for (int depth = 0; parent != THREAD_NONE; depth++) {
		if (parent == child || depth >= IMAP_THREAD_MAX_DEPTH)
			return true;
		parent = NODE(t, parent)->parent;
	}
	return false;
}

static size_t thread_child_count(struct thread_tree *t, int32_t n, size_t stop)
{
	size_t count = 0;

	for (int32_t c = NODE(t, n)->child; c != THREAD_NONE && count < stop; c = NODE(t, c)->next)
		count++;
	return count;
}

/* Make list[0..count) the children of parent, in that order. */
static void thread_set_children(struct thread_tree *t, int32_t parent, const int32_t *list,
				size_t count)
{
	int32_t prev = THREAD_NONE;

	NODE(t, parent)->child = count > 0 ? list[0] : THREAD_NONE;
	for (size_t i = 0; i < count; i++) {
		struct thread_node *c = NODE(t, list[i]);
		c->parent = parent;
		c->prev = prev;
		c->next = i + 1 < count ? list[i + 1] : THREAD_NONE;
		prev = list[i];
	}
}

static struct thread_key thread_key_of(struct thread_tree *t, int32_t n)
{
	struct thread_key key = { INT64_MIN, -1, n };
	int32_t m = n;

	/* a dummy sorts as its first child (RFC 5256 §3 steps 4 and 6) */
	while (m != THREAD_NONE && NODE(t, m)->msg == THREAD_NONE)
		m = NODE(t, m)->child;
	if (m != THREAD_NONE) {
		key.msg = NODE(t, m)->msg;
		key.date = t->msgs[key.msg].sent_date;
	}
	return key;
}

static int thread_cmp_key(const void *a, const void *b)
{
	const struct thread_key *x = a, *y = b;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->msg < y->msg ? -1 : x->msg > y->msg;
}

/* Sort one sibling set by sent date, then sequence number. */
static void thread_sort_children(struct thread_tree *t, int32_t parent)
{
	ARRAY(struct thread_key) keys = ARRAY_INIT;

	if (thread_child_count(t, parent, 2) < 2)
		return;
	for (int32_t c = NODE(t, parent)->child; c != THREAD_NONE; c = NODE(t, c)->next)
		array_push(&keys, thread_key_of(t, c));
	qsort(keys.items, keys.count, sizeof(*keys.items), thread_cmp_key);
	array_clear(&t->work);
	for (size_t i = 0; i < keys.count; i++)
		array_push(&t->work, keys.items[i].node);
	thread_set_children(t, parent, t->work.items, t->work.count);
	array_free(&keys);
}

/* Step 6: every set of siblings, the deepest first. Dummies only survive
 * directly under the root (step 3), so sorting every other node's children
 * before the root's gives each dummy its first child in time. */
static void thread_sort_all(struct thread_tree *t)
{
	for (size_t i = 1; i < t->nodes.count; i++)
		thread_sort_children(t, (int32_t)i);
	thread_sort_children(t, THREAD_ROOT);
}

/* ---- REFERENCES ------------------------------------------------------------------ */

/* Step 1: links from References / In-Reply-To / Message-ID. The message
 * nodes are 1..count; ids are registered first, in sequence order, so the
 * first of several messages with one Message-ID owns it. */
static void thread_link_references(struct thread_tree *t, size_t count, struct thread_map *map)
{
	for (size_t i = 0; i < count; i++) {
		size_t pos = 0;
		char *id = imap_thread_next_msgid(t->arena, t->msgs[i].message_id, &pos);
		int32_t n = thread_new_node(t, (int32_t)i);
		/* no id, or a duplicate: a unique id, i.e. none in the map */
		if (id != NULL && thread_map_find(map, id) == THREAD_NONE)
			thread_map_add(map, id, n);
	}
	for (size_t i = 0; i < count; i++) {
		const struct imap_thread_message *m = &t->msgs[i];
		int32_t self = (int32_t)i + 1, prev = THREAD_NONE;
		size_t pos = 0, refs = 0;
		char *id;

		/* (A) References, or else the first id of In-Reply-To */
		for (;;) {
			id = imap_thread_next_msgid(t->arena, m->references, &pos);
			if (id == NULL && refs == 0) {
				pos = 0;
				id = imap_thread_next_msgid(t->arena, m->in_reply_to, &pos);
				refs = SIZE_MAX; /* just this one */
			}
			if (id == NULL)
				break;
			if (refs != SIZE_MAX)
				refs++;
			int32_t n = thread_map_find(map, id);
			if (n == THREAD_NONE) {
				n = thread_new_node(t, THREAD_NONE);
				thread_map_add(map, id, n);
			}
			/* a parent once set stays: References may be truncated */
			if (prev != THREAD_NONE && NODE(t, n)->parent == THREAD_NONE &&
			    !thread_would_loop(t, prev, n))
				thread_link(t, prev, n);
			prev = n;
			if (refs == SIZE_MAX)
				break;
		}
		/* (B) the last reference is the parent, replacing any other */
		if (NODE(t, self)->parent == prev && prev != THREAD_NONE)
			continue;
		thread_unlink(t, self);
		if (prev != THREAD_NONE && !thread_would_loop(t, prev, self))
			thread_link(t, prev, self);
	}
}

/* Step 2: everything without a parent goes under the root. */
static void thread_gather_roots(struct thread_tree *t)
{
	for (size_t i = 1; i < t->nodes.count; i++) {
		if (NODE(t, i)->parent == THREAD_NONE)
			thread_link(t, THREAD_ROOT, (int32_t)i);
	}
}

/* Step 3: dummies go; their children take their place, except that the
 * children of a dummy under the root stay under it when there are several
 * of them. */
static void thread_prune(struct thread_tree *t)
{
	ARRAY(int32_t) stack = ARRAY_INIT;

	array_push(&stack, THREAD_ROOT);
	while (stack.count > 0) {
		int32_t owner = stack.items[--stack.count];
		array_clear(&t->work);
		array_clear(&t->kept);
		for (int32_t c = NODE(t, owner)->child; c != THREAD_NONE; c = NODE(t, c)->next)
			array_push(&t->work, c);
		while (t->work.count > 0) {
			int32_t c = t->work.items[--t->work.count];
			if (NODE(t, c)->msg != THREAD_NONE ||
			    (owner == THREAD_ROOT && thread_child_count(t, c, 2) > 1)) {
				array_push(&t->kept, c);
				continue;
			}
			for (int32_t g = NODE(t, c)->child; g != THREAD_NONE; g = NODE(t, g)->next)
				array_push(&t->work, g);
			NODE(t, c)->child = THREAD_NONE;
			NODE(t, c)->parent = THREAD_NONE;
		}
		thread_set_children(t, owner, t->kept.items, t->kept.count);
		for (size_t i = 0; i < t->kept.count; i++)
			array_push(&stack, t->kept.items[i]);
	}
	array_free(&stack);
}

/* The thread subject of a node under the root (step 5.B.i). */
static const char *thread_subject_of(struct thread_tree *t, int32_t n, bool *is_reply_r)
{
	struct thread_node *node = NODE(t, n);

	*is_reply_r = false;
	if (node->msg == THREAD_NONE) {
		if (node->child == THREAD_NONE)
			return "";
		node = NODE(t, node->child);
		if (node->msg == THREAD_NONE)
			return "";
		return t->msgs[node->msg].subject;
	}
	*is_reply_r = t->msgs[node->msg].is_reply;
	return t->msgs[node->msg].subject;
}

/* Step 5: threads under the root with the same base subject are merged. */
static void thread_merge_subjects(struct thread_tree *t)
{
	struct thread_map table;
	ARRAY(int32_t) roots = ARRAY_INIT;
	bool reply, table_reply;

	for (int32_t c = NODE(t, THREAD_ROOT)->child; c != THREAD_NONE; c = NODE(t, c)->next)
		array_push(&roots, c);
	thread_map_init(&table, roots.count);
	/* (B) one message per subject: a dummy wins, then a non-reply */
	for (size_t i = 0; i < roots.count; i++) {
		int32_t c = roots.items[i];
		const char *subject = thread_subject_of(t, c, &reply);
		if (*subject == '\0')
			continue;
		struct thread_map_slot *slot = thread_map_slot(&table, subject, thread_hash(subject));
		if (slot->key == NULL) {
			thread_map_add(&table, subject, c);
			continue;
		}
		thread_subject_of(t, slot->node, &table_reply);
		if (NODE(t, slot->node)->msg != THREAD_NONE &&
		    (NODE(t, c)->msg == THREAD_NONE || (table_reply && !reply)))
			slot->node = c;
	}
	/* (C) merge */
	for (size_t i = 0; i < roots.count; i++) {
		int32_t c = roots.items[i];
		const char *subject = thread_subject_of(t, c, &reply);
		if (*subject == '\0' || NODE(t, c)->parent != THREAD_ROOT)
			continue;
		struct thread_map_slot *slot = thread_map_slot(&table, subject, thread_hash(subject));
		int32_t other = slot->node;
		if (other == c)
			continue;
		thread_subject_of(t, other, &table_reply);
		bool c_dummy = NODE(t, c)->msg == THREAD_NONE;
		bool other_dummy = NODE(t, other)->msg == THREAD_NONE;
		if (c_dummy && other_dummy) {
			thread_unlink(t, c);
			while (NODE(t, c)->child != THREAD_NONE) {
				int32_t g = NODE(t, c)->child;
				thread_unlink(t, g);
				thread_link(t, other, g);
			}
		} else if (other_dummy || (reply && !table_reply)) {
			thread_unlink(t, c);
			thread_link(t, other, c);
		} else {
			int32_t dummy = thread_new_node(t, THREAD_NONE);
			thread_unlink(t, c);
			thread_unlink(t, other);
			thread_link(t, THREAD_ROOT, dummy);
			thread_link(t, dummy, other);
			thread_link(t, dummy, c);
			slot->node = dummy;
		}
	}
	free(table.slots);
	array_free(&roots);
}

static void thread_references(struct thread_tree *t, size_t count)
{
	struct thread_map map;

	thread_map_init(&map, count);
	thread_link_references(t, count, &map);
	free(map.slots);
	thread_gather_roots(t);
	thread_prune(t);
	/* step 4: the root's children by date, dummies by their first child */
	for (int32_t c = NODE(t, THREAD_ROOT)->child; c != THREAD_NONE; c = NODE(t, c)->next) {
		if (NODE(t, c)->msg == THREAD_NONE)
			thread_sort_children(t, c);
	}
	thread_sort_children(t, THREAD_ROOT);
	thread_merge_subjects(t);
	thread_sort_all(t);
}

/* ---- ORDEREDSUBJECT ---------------------------------------------------------------- */

static int thread_cmp_ordered(const void *a, const void *b, void *context)
{
	const struct imap_thread_message *msgs = context;
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	int r = strcmp(msgs[x].subject, msgs[y].subject);

	if (r != 0)
		return r;
	if (msgs[x].sent_date != msgs[y].sent_date)
		return msgs[x].sent_date < msgs[y].sent_date ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Sort by (base subject, sent date); each run of one subject is a thread
 * whose first message is the parent of all the others; threads by the
 * date of their first message. */
static void thread_ordered_subject(struct thread_tree *t, size_t count)
{
	int32_t *order = malloc(count * sizeof(*order) + 1);

	if (order == NULL)
		abort();
	for (size_t i = 0; i < count; i++) {
		order[i] = (int32_t)i;
		thread_new_node(t, (int32_t)i);
	}
	qsort_r(order, count, sizeof(*order), thread_cmp_ordered, (void *)t->msgs);
	int32_t head = THREAD_NONE;
	for (size_t i = 0; i < count; i++) {
		int32_t n = order[i] + 1;
		if (head != THREAD_NONE &&
		    strcmp(t->msgs[order[i]].subject, t->msgs[NODE(t, head)->msg].subject) == 0) {
			thread_link(t, head, n);
		} else {
			head = n;
			thread_link(t, THREAD_ROOT, n);
		}
	}
	free(order);
	thread_sort_all(t);
}

/* ---- the response ------------------------------------------------------------------- */

/* RFC 5256 §4 thread-list for one node under the root: a chain of single
 * children is "a b c", a fork is "a (b ...)(c ...)", a dummy contributes
 * only its forks. Iterative: the stack holds nodes to open and closing
 * marks. */
static void thread_write_tree(struct thread_tree *t, struct buf *out)
{
	ARRAY(int32_t) stack = ARRAY_INIT;

	for (int32_t top = NODE(t, THREAD_ROOT)->child; top != THREAD_NONE;
	     top = NODE(t, top)->next) {
		array_push(&stack, top);
		while (stack.count > 0) {
			int32_t n = stack.items[--stack.count];
			if (n == THREAD_CLOSE) {
				buf_append_char(out, ')');
				continue;
			}
			buf_append_char(out, '(');
			for (;;) {
				bool dummy = NODE(t, n)->msg == THREAD_NONE;
				int32_t c = NODE(t, n)->child;
				if (!dummy)
					buf_printf(out, "%u", t->msgs[NODE(t, n)->msg].number);
				if (c == THREAD_NONE) {
					buf_append_char(out, ')');
					break;
				}
				if (!dummy)
					buf_append_char(out, ' ');
				if (!dummy && NODE(t, c)->next == THREAD_NONE) {
					n = c;
					continue;
				}
				array_push(&stack, THREAD_CLOSE);
				array_clear(&t->work);
				for (; c != THREAD_NONE; c = NODE(t, c)->next)
					array_push(&t->work, c);
				for (size_t i = t->work.count; i > 0; i--)
					array_push(&stack, t->work.items[i - 1]);
				break;
			}
		}
	}
	array_free(&stack);
}

void imap_thread_write(struct arena *arena, enum imap_thread_algorithm algorithm,
		       const struct imap_thread_message *msgs, size_t count, struct buf *out)
{
	struct thread_tree t = { .arena = arena, .msgs = msgs };

	if (count == 0 || count >= INT32_MAX / 4)
		return;
	thread_new_node(&t, THREAD_NONE); /* the root */
	if (algorithm == IMAP_THREAD_ORDEREDSUBJECT)
		thread_ordered_subject(&t, count);
	else
		thread_references(&t, count);
	thread_write_tree(&t, out);
	array_free(&t.nodes);
	array_free(&t.work);
	array_free(&t.kept);
}

/* ---- the command ---------------------------------------------------------------------- */

struct thread_item {
	uint32_t index;
	struct imap_thread_message m;
};

struct thread_collect {
	struct arena *arena;
	bool references;
	ARRAY(struct thread_item) items;
};

/* imap_search_execute callback: keep what the algorithm needs. */
static void thread_collect_one(void *context, uint32_t index, const struct store_message_info *info)
{
	struct thread_collect *c = context;
	struct thread_item item = { .index = index };
	size_t len;
	char *base = imap_sort_base_subject(c->arena, info->subject, &item.m.is_reply);

	item.m.subject = imap_search_fold(c->arena, base, strlen(base), &len);
	item.m.sent_date = imap_sort_sent_date(info);
	if (c->references) {
		item.m.message_id = info->message_id ? arena_strdup(c->arena, info->message_id) : NULL;
		item.m.in_reply_to = info->in_reply_to ? arena_strdup(c->arena, info->in_reply_to)
						       : NULL;
		item.m.references = info->references ? arena_strdup(c->arena, info->references)
						     : NULL;
	}
	array_push(&c->items, item);
}

static int thread_cmp_item(const void *a, const void *b)
{
	const struct thread_item *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/* THREAD / UID THREAD: "THREAD SP algorithm SP charset 1*(SP search-key)"
 * (RFC 5256 §5). An unknown algorithm is BAD, an unknown charset NO. */
static enum imap_cmd_status imap_cmd_thread(struct imap_session *s, struct imap_parser *p,
					    bool uid)
{
	struct imap_search_query *query = arena_zalloc(p->arena, sizeof(*query));
	struct thread_collect collect = { .arena = s->cmd_arena };
	enum imap_thread_algorithm algorithm;
	const char *name = uid ? "UID THREAD" : "THREAD";
	char *atom;

	if (!imap_parse_sp(p) || !imap_parse_atom(p, &atom) || !imap_parse_sp(p))
		return imap_cmd_syntax(s, p);
	if (!imap_thread_parse_algorithm(atom, &algorithm)) {
		imap_cmd_bad(s, "Unknown threading algorithm");
		return IMAP_CMD_DONE;
	}
	if (!imap_search_parse_charset_keys(p, query) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (!query->charset_supported) {
		imap_cmd_no(s, "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
		return IMAP_CMD_DONE;
	}
	if (query->has_modseq)
		imap_enable_condstore(s); /* RFC 7162 §3.1 */
	collect.references = algorithm == IMAP_THREAD_REFERENCES;
	if (imap_search_execute(s, query, thread_collect_one, &collect, NULL, NULL, NULL) < 0) {
		array_free(&collect.items);
		imap_cmd_no(s, "[SERVERBUG] %s failed: internal error", name);
		return IMAP_CMD_DONE;
	}
	/* matches decided from the header come late: back to mailbox order */
	if (collect.items.count > 1)
		qsort(collect.items.items, collect.items.count, sizeof(*collect.items.items),
		      thread_cmp_item);
	struct imap_thread_message *msgs =
		arena_alloc(s->cmd_arena, (collect.items.count + 1) * sizeof(*msgs));
	for (size_t i = 0; i < collect.items.count; i++) {
		uint32_t index = collect.items.items[i].index;
		msgs[i] = collect.items.items[i].m;
		msgs[i].number = uid ? s->view->msgs.items[index].uid : index + 1;
	}
	buf_append_str(&s->scratch, "* THREAD");
	if (collect.items.count > 0)
		buf_append_char(&s->scratch, ' ');
	imap_thread_write(s->cmd_arena, algorithm, msgs, collect.items.count, &s->scratch);
	buf_append_str(&s->scratch, "\r\n");
	imap_flush_scratch(s);
	array_free(&collect.items);
	imap_cmd_ok(s, "%s completed", name);
	return IMAP_CMD_DONE;
}

const struct imap_command imap_cmd_def_thread = {
	"THREAD", IMAP_STATE_SELECTED, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE, imap_cmd_thread
};
