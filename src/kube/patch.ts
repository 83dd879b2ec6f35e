import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

/** Request options that send a body as a JSON merge patch. */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** Request options that send a body as a JSON patch (supports `test` preconditions). */
export const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
