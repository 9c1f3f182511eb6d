/** The piscina task: each client thread runs one group of connections (group.ts). */
export { runGroup as default } from "./flows/group.ts";
