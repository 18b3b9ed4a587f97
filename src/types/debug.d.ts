declare module "debug" {
  const debug: { disable(): string };
  export default debug;
}
