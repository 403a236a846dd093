// Type-level checks of the generated client: compiled by `tsc -p test`
// (no output). Each `@ts-expect-error` fails the build when the line
// below it type-checks, so wrong argument and reply types are caught.
import { Ws, WsRoomsGroupId, RestChannelsError } from "../src/reference.js";
import type { Note, WsNotesListReply, Subscription, WsNotesSubscribePush, Events, Event } from "../src/reference.js";

export async function typed(api: Ws, room: WsRoomsGroupId): Promise<void> {
  const note: Note = await api.notes.create({ data: { title: "t" } });
  const id: number = note.id;
  const page: WsNotesListReply = await api.notes.list({ query: { page: 2, search: "x" } });
  const first: Note | undefined = page.results[0];
  const next: string | null = page.next;
  await api.notesPk.retrieve({ pk: id });
  await api.notesPk.partialUpdate({ pk: id, data: { content: "only this" } });
  const deleted: null = await api.notesPk.destroy({ pk: id });
  const sub: Subscription<{ subscribed: true }, WsNotesSubscribePush> = await api.notes.subscribe();
  for await (const push of sub) {
    const event: "created" | "updated" | "deleted" = push.event;
    void event;
  }
  await api.itemsPk.touch({ pk: "a-b" });
  const events: Events<Event<unknown>> = room.chatMessage();
  await room.chat.announce({ text: "all" });

  // @ts-expect-error: title is required
  await api.notes.create({ data: { content: "no title" } });
  // @ts-expect-error: pk is a number for notes/<int:pk>/
  await api.notesPk.retrieve({ pk: "1" });
  // @ts-expect-error: the kwarg is required
  await api.notesPk.retrieve({});
  // @ts-expect-error: ms is a number
  await api.wait({ ms: "5" });
  // @ts-expect-error: a note's title is a string
  const wrong: number = note.title;
  // @ts-expect-error: no such route group
  api.nothing;

  try {
    await api.private.secret();
  } catch (e) {
    if (e instanceof RestChannelsError) {
      const status: number = e.status;
      const fields: Record<string, string[]> = e.fields;
      void [status, fields];
    }
  }
  void [first, next, deleted, events, wrong];
}
